// The incoming image's side of an x86 live update (docs/handover.md §5.1): keel_uefi_entry
// found a handover record instead of a BootInfo, zeroed this image's .bss and relocated it
// into the run slot (relocate.S). It runs on the outgoing image's flat map, GDT and IDT and
// changes none of them: it checks the record with the parser every image runs and says what
// it holds, then hands back, since adopting VMs is not built on x86 yet. Until then nothing
// outside this image's own span is written.
#include "hypervisor/print.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/update/handover.hpp"
#include "hypervisor/update/image_note.hpp"
#include "hypervisor/update/report.hpp"
#include "hypervisor/update/swap.hpp"

extern "C" char __image_start[];
extern "C" keel::u64 keel_relocations, keel_image_linked_at; // relocate.S
extern "C" [[noreturn]] void keel_x86_handover_back(keel::u64 code, keel::u64 back,
                                                    keel::u64 cookie);

namespace keel::x86 {
namespace {

// The record is read in place, at most this much of it (the outgoing image's buffer).
constexpr u64 kRecordMax = 128 * KiB;

[[noreturn]] void hand_back(u64 back, u64 cookie, update::HandBackReason why, Status s) {
    keel_x86_handover_back(update::encode_hand_back(why, s), back, cookie);
}

} // namespace
} // namespace keel::x86

extern "C" [[noreturn]] void x86_handover_main(keel::u64 record, keel::u64 back, keel::u64 cookie,
                                               keel::u64 flat_cr3) {
    using namespace keel;
    using ull = unsigned long long;
    (void)flat_cr3; // the map this image runs on: its own tables come with adoption
    kprint("handover: Keel %s (incoming image) running at %#llx, linked at %#llx (%llu "
           "relocations), record at %#llx\n",
           update::keel_image_note.version, static_cast<ull>(reinterpret_cast<uptr>(__image_start)),
           static_cast<ull>(keel_image_linked_at), static_cast<ull>(keel_relocations),
           static_cast<ull>(record));
    const u64 length = reinterpret_cast<const volatile update::HandoverHeader*>(record)->length;
    const u64 bytes = length < x86::kRecordMax ? length : x86::kRecordMax;
    static update::HandoverView view;
    const Status s =
        update::parse_handover(reinterpret_cast<const u8*>(record), static_cast<usize>(bytes),
                               update::kHandoverAbiMin, update::kHandoverAbi, view);
    if (s != Status::Ok) {
        kprint("handover: record refused: %s; handing back\n", status_name(s));
        x86::hand_back(back, cookie, update::HandBackReason::RecordRefused, s);
    }
    update::report_record_checked(view);
    kprint("handover: adoption is not built on x86_64 yet: handing back to the outgoing image\n");
    x86::hand_back(back, cookie, update::HandBackReason::AdoptionNotBuilt, Status::Unsupported);
}
