// This image's note (image_note.hpp, docs/handover.md §1). Its own section so the arm64
// linker script can put it at kNoteOffset; elsewhere it is plain read-only data.
#include "hypervisor/update/image_note.hpp"

namespace keel::update {
namespace {
constexpr ImageNote make_note() {
    ImageNote n{};
    n.magic = kNoteMagic;
    n.note_version = kNoteVersion;
    n.handover_min = kHandoverAbiMin;
    n.handover_max = kHandoverAbi;
    n.handover_written = kHandoverAbi;
    constexpr const char* v = KEEL_VERSION_STRING;
    for (usize i = 0; v[i] != '\0' && i + 1 < sizeof n.version; ++i)
        n.version[i] = v[i];
    return n;
}
} // namespace

extern "C" [[gnu::used, gnu::section(".rodata.keel_note")]] const ImageNote keel_image_note =
    make_note();

HandoverRange handover_range(u32 min, u32 max, u32 written) {
    if (min < kHandoverAbiMin || max > kHandoverAbi || written < min || written > max)
        return {kHandoverAbiMin, kHandoverAbi, kHandoverAbi};
    return {min, max, written};
}

HandoverRange own_handover_range() {
    const volatile ImageNote& n = keel_image_note;
    return handover_range(n.handover_min, n.handover_max, n.handover_written);
}

} // namespace keel::update
