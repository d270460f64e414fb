#include "hypervisor/update/place.hpp"

#include <string.h>

#include "boot/image/keel_image.hpp"
#include "hypervisor/print.hpp"

namespace keel::update {

Status place_image(const u8* file, u64 len, u8* slot, u64 slot_size, Placement& out) {
    out = Placement{};
    // The header was verified in place and the file is private: a copy to read it from.
    static image::VerifiedHeader vh; // 1 KiB: kept off the boot core's stack
    if (file == nullptr || len < image::kPayloadMin) return Status::InvalidArgument;
    memcpy(&vh.header, file, sizeof vh.header);
    const image::Header& h = vh.header;
    if (h.segment_count == 0 || h.segment_count > image::kMaxSegments)
        return Status::InvalidArgument;
    u64 base = ~0ull, end = 0;
    for (u32 i = 0; i < h.segment_count; ++i) {
        const image::Segment& s = h.segments[i];
        if (s.file_offset > len || s.file_size > len - s.file_offset || s.mem_size < s.file_size)
            return Status::InvalidArgument; // not a verified image
        base = s.load_addr < base ? s.load_addr : base;
        end = s.load_addr + s.mem_size > end ? s.load_addr + s.mem_size : end;
    }
    out.span = end - base;
    if (out.span > slot_size) {
        format(out.message, sizeof out.message, "image spans %llu KiB, the run slot holds %llu KiB",
               static_cast<unsigned long long>(out.span / KiB),
               static_cast<unsigned long long>(slot_size / KiB));
        return Status::OutOfRange;
    }
    out.entry_offset = h.entry - base;
    // Gaps, .bss and .noinit zero; each segment's file bytes at its offset from the base.
    memset(slot, 0, static_cast<usize>(out.span));
    for (u32 i = 0; i < h.segment_count; ++i) {
        const image::Segment& s = h.segments[i];
        u8* at = slot + (s.load_addr - base);
        memcpy(at, file + s.file_offset, static_cast<usize>(s.file_size));
        if (image::verify_segment(vh, i, at, static_cast<usize>(s.file_size)) !=
            image::Refusal::None) {
            memset(slot, 0, static_cast<usize>(out.span));
            format(out.message, sizeof out.message, "placed segment %u does not match its hash", i);
            return Status::Corrupt;
        }
    }
    format(out.message, sizeof out.message, "placed: %llu KiB, entry at +%#llx",
           static_cast<unsigned long long>(out.span / KiB),
           static_cast<unsigned long long>(out.entry_offset));
    return Status::Ok;
}

Status restore_image(u8* image, const OldImageRecord& o) {
    if (image == nullptr || !old_image_consistent(o)) return Status::InvalidArgument;
    if (o.restore_size == 0) return Status::BadState;
    memcpy(image + o.restore_offset, image + o.restore_copy, static_cast<usize>(o.restore_size));
    const u64 loaded_end = o.restore_offset + o.restore_size;
    const u64 copy_end = o.restore_copy + o.restore_size;
    // The rest of the span after the loaded bytes: zero but for the copy (§2.3: the copy lies
    // after them or before them, never across).
    if (o.restore_copy >= loaded_end) {
        memset(image + loaded_end, 0, static_cast<usize>(o.restore_copy - loaded_end));
        memset(image + copy_end, 0, static_cast<usize>(o.span - copy_end));
    } else {
        memset(image + loaded_end, 0, static_cast<usize>(o.span - loaded_end));
    }
    return Status::Ok;
}

} // namespace keel::update
