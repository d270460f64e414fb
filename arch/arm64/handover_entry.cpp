// The incoming image at a live update (docs/handover.md §4.3-4.4). The outgoing image's boot
// core enters it with the EL2 MMU off, x0 = the handover record, x1 = where to hand back,
// x2 = the console UART; start.S has relocated it into the run slot and zeroed its own .bss.
// It writes nothing outside its own span: its own EL2 tables (from its .noinit), the record
// mapped read-only, the UART. No GIC, pool, timer, mailbox or secondary-core set-up: what the
// outgoing image runs stays as it is. It checks the record as an adopting image must (magic,
// ABI version, length, SHA-256, every rule of §2.3), says what it found, and, since adoption
// is not built, hands control back with its answer (update::encode_hand_back).
#include "handover_entry.hpp"

#include <arch/console.hpp>

#include "cache_ops.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/update/handover.hpp"
#include "hypervisor/update/swap.hpp"
#include "mmu.hpp"

extern "C" char __image_start[], __image_end[];
extern "C" [[noreturn]] void keel_handover_back(keel::u64 back, keel::u64 answer);

namespace keel::arm64 {
namespace {

// More than any record this image could parse (a length beyond it reads as Truncated).
constexpr u64 kRecordMapMax = 1 * MiB;

[[noreturn]] void hand_back(u64 back, update::HandBackReason why, Status s) {
    keel_handover_back(back, update::encode_hand_back(why, s));
}

} // namespace

bool is_handover_record(u64 x0) {
    return x0 != 0 && (x0 & 7) == 0 &&
           *reinterpret_cast<const volatile u64*>(x0) == update::kHandoverMagic;
}

[[noreturn]] void handover_main(u64 record, u64 back, u64 uart, u64 link_base, u64 relocs) {
    const u64 base = reinterpret_cast<u64>(__image_start);
    const u64 span = reinterpret_cast<u64>(__image_end) - base;
    const u64 length = reinterpret_cast<const volatile update::HandoverHeader*>(record)->length;
    u64 map = length < kRecordMapMax ? length : kRecordMapMax;
    if (map < sizeof(update::HandoverHeader)) map = sizeof(update::HandoverHeader);
    // Before the MMU goes on: lines another core's speculation may have pulled into the
    // caches through the outgoing image's mappings of the slot or the record before this
    // image wrote its relocations and .bss with the MMU off would read stale once cacheable.
    // No line of these can be dirty: clean and invalidate is an invalidate.
    dcache_clean_inval_poc(base, span);
    dcache_clean_inval_poc(record, map);
    if (el2_map_image() != Status::Ok || el2_map(record, map, MapKind::ReadOnly) != Status::Ok ||
        el2_map(uart, 4096, MapKind::Device) != Status::Ok)
        hand_back(back, update::HandBackReason::RecordRefused, Status::NoMemory);
    el2_enable_mmu();
    arch::console_set_base(uart);
    kprint("handover: Keel %s (incoming image) running at %#llx, linked at %#llx (%llu "
           "relocations), record at %#llx\n",
           update::keel_image_note.version, static_cast<unsigned long long>(base),
           static_cast<unsigned long long>(link_base), static_cast<unsigned long long>(relocs),
           static_cast<unsigned long long>(record));
    static update::HandoverView view;
    const Status s =
        update::parse_handover(reinterpret_cast<const u8*>(record), static_cast<usize>(map),
                               update::kHandoverAbiMin, update::kHandoverAbi, view);
    if (s != Status::Ok) {
        kprint("handover: record refused: %s; handing back\n", status_name(s));
        hand_back(back, update::HandBackReason::RecordRefused, s);
    }
    u64 free = 0; // what the pool would have free after adopting the record's runs
    for (u32 i = 0; i < view.pool->count; ++i)
        if (view.pool_runs[i].owner == update::kOwnerFree) free += view.pool_runs[i].size;
    kprint("handover: record checked: abi %u, update %llu, %llu B, %u VMs, %u vCPUs, pool %u "
           "runs, %llu MiB free, outgoing Keel %s\n",
           view.header.abi_version, static_cast<unsigned long long>(view.header.update_counter),
           static_cast<unsigned long long>(view.header.length), view.vm_count, view.vcpu_count,
           view.pool->count, static_cast<unsigned long long>(free / MiB), view.old_image->version);
    kprint("handover: adoption not built yet: handing back to the outgoing image\n");
    hand_back(back, update::HandBackReason::AdoptionNotBuilt, Status::Ok);
}

} // namespace keel::arm64
