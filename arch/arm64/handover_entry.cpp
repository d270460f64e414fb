// The incoming image at a live update (docs/handover.md §4.3-4.6). The outgoing image's boot
// core enters it with the EL2 MMU off, x0 = the handover record, x1 = where to hand back,
// x2 = the console UART; start.S has relocated it (into the run slot, or, for a rollback,
// where it first ran: §4.7) and zeroed its own .bss. Until it stays it changes nothing the
// outgoing image runs: its own EL2 tables (from its .noinit), the record mapped read-only,
// the UART, the doorbell (§4.5). It checks the record as an adopting image must (magic, ABI
// version, length, SHA-256, every rule of §2.3), reads the platform from the recorded device
// tree, adopts the pool, the stage-2 trees in place and every VM, takes every other core
// over, and then stays (handover_stay.cpp) or, on any refusal, sends every core back and
// hands control back with its answer (update::encode_hand_back).
#include "handover_entry.hpp"

#include <arch/console.hpp>
#include <string.h>

extern "C" {
#include <libfdt.h>
}

#include "cache_ops.hpp"
#include "handover_records.hpp"
#include <arch/ticks.hpp>

#include "asm_offsets.h"
#include "dtb_platform.hpp"
#include "handover_stay.hpp"
#include "hypervisor/acpi/platform_acpi.hpp"
#include "hypervisor/boot_info.hpp"
#include "hypervisor/io/io_handover.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/update/handover.hpp"
#include "hypervisor/update/report.hpp"
#include "hypervisor/update/swap.hpp"
#include "hypervisor/update/take_over.hpp"
#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm_manager.hpp"
#include "its.hpp"
#include "mmu.hpp"
#include "percpu.hpp"
#include "stage2_format.hpp"
#include "sysreg.hpp"
#include "vm_arch.hpp"

extern "C" char __image_start[], __image_end[];
extern "C" [[noreturn]] void keel_handover_back(keel::u64 back, keel::u64 answer, keel::u64 cookie);
extern "C" char keel_handover_secondary[];
extern "C" [[noreturn]] void keel_adopted_secondary(keel::arm64::PerCpu* me);

namespace keel::arm64 {
namespace {

// More than any record this image could parse (a length beyond it reads as Truncated).
constexpr u64 kRecordMapMax = 1 * MiB;

static_assert(KEEL_HANDOVER_CPUS == PerCpu::kMaxCpus);
// How long the boot core waits for every parked core to come and go. They wait in WFE for
// exactly this and need microseconds on hardware; under TCG on a loaded host a core's turn
// has taken over 100 ms. One that is late is still waited for by the outgoing image.
constexpr u64 kSecondaryWaitMs = 1000;

[[noreturn]] void hand_back(u64 back, u64 cookie, update::HandBackReason why, Status s) {
    keel_handover_back(back, update::encode_hand_back(why, s), cookie);
}

// The device tree the outgoing image booted with (OldImage's dtb): mapped read only, checked
// and read as at boot (dtb_platform.cpp), the platform this image runs with. False (said)
// when there is none (an ACPI-only boot) or it does not read.
// ACPI tables read where they are, each mapped read-only for this image first.
const u8* map_read_only(void*, u64 pa, u64 size) {
    const u64 page = align_down(pa, mm::kPageSize);
    const u64 end = align_up(pa + size, mm::kPageSize);
    return size != 0 && pa + size > pa && el2_map(page, end - page, MapKind::ReadOnly) == Status::Ok
               ? reinterpret_cast<const u8*>(pa)
               : nullptr;
}

// The platform from the ACPI tables the outgoing image booted with (OldImage acpi_rsdp: a UEFI
// boot without a device tree), read as at boot (acpi::read_platform).
bool take_acpi_platform(const update::OldImageRecord& old, Platform& p) {
    const char* where = "";
    const Status s = acpi::read_platform(old.acpi_rsdp, acpi::PhysReader{map_read_only, nullptr},
                                         acpi::Flavor::Arm64, p, &where);
    if (s == Status::Ok)
        kprint("handover: ACPI tables from RSDP %#llx, platform read\n",
               static_cast<unsigned long long>(old.acpi_rsdp));
    else
        kprint("handover: ACPI tables from RSDP %#llx NOT usable: %s (%s)\n",
               static_cast<unsigned long long>(old.acpi_rsdp), where, status_name(s));
    return s == Status::Ok;
}

bool take_platform(const update::OldImageRecord& old, Platform& p, char* cmdline, usize size) {
    // The running Keel's command line, whatever /chosen says (a UEFI boot's is keel.cfg's).
    usize n = 0;
    for (; n + 1 < size && n < sizeof old.cmdline && old.cmdline[n] != '\0'; ++n)
        cmdline[n] = old.cmdline[n];
    cmdline[n] = '\0';
    if (old.dtb == 0 && old.acpi_rsdp != 0) return take_acpi_platform(old, p);
    const u64 page = align_down(old.dtb, mm::kPageSize);
    bool ok = old.dtb != 0 && (old.dtb & 7) == 0 &&
              el2_map(page, mm::kPageSize, MapKind::ReadOnly) == Status::Ok;
    const void* fdt = reinterpret_cast<const void*>(old.dtb);
    ok = ok && mm::kPageSize - (old.dtb & (mm::kPageSize - 1)) >= sizeof(fdt_header) &&
         fdt_check_header(fdt) == 0 && fdt_totalsize(fdt) <= 2 * MiB &&
         el2_map(page, align_up(old.dtb + fdt_totalsize(fdt), mm::kPageSize) - page,
                 MapKind::ReadOnly) == Status::Ok;
    DtbChosen chosen;
    const Status s = ok ? dtb_read_platform(fdt, p, nullptr, size, &chosen) : Status::NotFound;
    kprint("handover: device tree at %#llx, %llu B, %s\n", static_cast<unsigned long long>(old.dtb),
           static_cast<unsigned long long>(ok ? fdt_totalsize(fdt) : 0),
           s == Status::Ok ? "header checked, platform read" : "NOT a usable device tree");
    return s == Status::Ok;
}

// The adopted VM's vCPUs, distributor and devices described again as the outgoing image describes
// them: how many of its records come out byte for byte as they went in.
u32 same_records(const update::HandoverView& v, const Vm& vm, u32* total) {
    u32 same = 0;
    for (u32 i = 0; i < v.vcpu_count; ++i) {
        const update::VcpuRecord& r = *v.vcpus[i];
        if (r.vm_id != vm.id) continue;
        ++*total;
        const update::VcpuRecord again =
            vcpu_record(vm.id, vm.arch.vcpus[r.index], vm.arch.vcpus[r.index].on, r.cntvoff);
        same += memcmp(&again, &r, sizeof r) == 0;
    }
    for (u32 i = 0; i < v.vm_count; ++i) {
        if (v.vms[i]->id != vm.id) continue;
        *total += 2;
        const update::VgicDistRecord again = dist_record(vm.id, vm.arch.dist);
        same += memcmp(&again, v.vgic_dist[i], sizeof again) == 0;
        const update::VmDevicesRecord dev = devices_record(vm.id, vm.arch.uart, vm.arch.gpio);
        same += memcmp(&dev, v.vm_devices[i], sizeof dev) == 0;
    }
    return same;
}

// Each VM taken (update::take_vm; its arch state only where its stage-2 tree checked:
// `arch`), then said: its RAM blocks ready, its vCPUs, and whether its records describe
// again identical (docs/handover.md §4 step 4).
bool take_vms(const update::HandoverView& v, bool arch) {
    using ull = unsigned long long;
    bool all = arch;
    for (u32 i = 0; i < v.vm_count; ++i) {
        const Vm* vm = update::take_vm(v, i, arch, &all);
        if (vm == nullptr) continue;
        const update::VmRecord& r = *v.vms[i];
        u32 ready = 0, total = 0;
        for (u32 b = 0; b < vm->arch.ram.blocks(); ++b)
            ready += vm->arch.ram.ready(b);
        const u32 same = same_records(v, *vm, &total);
        all &= same == total;
        kprint("handover: vm %u arch state adopted: stage-2 root %#llx kept, %u RAM blocks ready, "
               "%u vCPUs, %u running; %u of %u records described again identical\n",
               r.id, static_cast<ull>(vm->arch.stage2.root().raw()), ready, vm->arch.nvcpus,
               vm->arch.running, same, total);
    }
    return all;
}

// The I/O region mapped where the record says, then the SMMU, the ITS, the VF table and
// the VMs' PCI views taken over from it (hypervisor/io/io_handover.hpp). Says what it found.
bool take_io(const update::HandoverView& v, const Platform& p) {
    if (v.io == nullptr) return true;
    its_found(p.its_base); // as gic_init does at boot; the GIC itself is adopted on staying
    const char* why = "";
    Status s = v.io->region_size % mm::kPageSize != 0
                   ? Status::InvalidArgument
                   : el2_map(v.io->region_base, v.io->region_size, MapKind::ReadWrite);
    if (s == Status::Ok) s = io_adopt(v, p, &why);
    if (s != Status::Ok) kprint("handover: I/O NOT adopted: %s (%s)\n", why, status_name(s));
    return s == Status::Ok;
}

// The parked cores (docs/handover.md §4.5): each vCPU that was on waits on its own core.
u32 parked_cores(const update::HandoverView& v) {
    u32 n = 0;
    for (u32 i = 0; i < v.vcpu_count; ++i)
        n += v.vcpus[i]->on != 0;
    return n;
}

// Names this image's secondary entry in the doorbell and waits until `cores` cores of the
// outgoing image arrived (or the wait ends). Returns how many arrived.
u32 take_in_secondaries(Doorbell& d, u32 cores) {
    // What a secondary reads with its MMU off (this image's code, data and EL2 tables) to
    // the point of coherency first.
    const u64 base = reinterpret_cast<u64>(__image_start);
    dcache_clean_inval_poc(base, reinterpret_cast<u64>(__image_end) - base);
    __atomic_store_n(&d.secondary_entry, reinterpret_cast<u64>(keel_handover_secondary),
                     __ATOMIC_RELEASE);
    asm volatile("dsb ish; sev" ::: "memory");
    return wait_count(d.arrived, cores, kSecondaryWaitMs);
}

// Every core that arrived told to hand back (`why`), and waited for; then this one too.
[[noreturn]] void send_back(Doorbell& d, u32 arrived, u64 back, u64 cookie,
                            update::HandBackReason why, const char* text) {
    __atomic_store_n(&d.reason, static_cast<u32>(why), __ATOMIC_RELAXED);
    __atomic_store_n(&d.go, kGoBack, __ATOMIC_RELEASE);
    asm volatile("dsb ish; sev" ::: "memory");
    const u32 left = wait_count(d.left, arrived, kSecondaryWaitMs);
    kprint("handover: %u of %u cores went back; %s: handing back to the outgoing image\n", left,
           arrived, text);
    hand_back(back, cookie, why, Status::Ok);
}

} // namespace

u32 wait_count(const u32& counter, u32 n, u64 ms) {
    const arch::TickCount t0 = arch::ticks();
    const u64 limit = t0.hz != 0 ? t0.hz / 1000 * ms : ~0ull;
    while (__atomic_load_n(&counter, __ATOMIC_ACQUIRE) < n &&
           arch::ticks().count - t0.count <= limit)
        asm volatile("yield" ::: "memory");
    return __atomic_load_n(&counter, __ATOMIC_ACQUIRE);
}

bool is_handover_record(u64 x0) {
    return x0 != 0 && (x0 & 7) == 0 &&
           *reinterpret_cast<const volatile u64*>(x0) == update::kHandoverMagic;
}

[[noreturn]] void handover_main(u64 record, u64 back, u64 uart, u64 cookie, u64 doorbell,
                                u64 link_base, u64 relocs) {
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
        el2_map(uart, 4096, MapKind::Device) != Status::Ok ||
        el2_map(doorbell, sizeof(Doorbell), MapKind::ReadWrite) != Status::Ok)
        hand_back(back, cookie, update::HandBackReason::RecordRefused, Status::NoMemory);
    el2_enable_mmu();
    arch::console_set_base(uart);
    kprint("handover: Keel %s (incoming image) running at %#llx, linked at %#llx (%llu "
           "relocations), record at %#llx\n",
           update::keel_image_note.version, static_cast<unsigned long long>(base),
           static_cast<unsigned long long>(link_base), static_cast<unsigned long long>(relocs),
           static_cast<unsigned long long>(record));
    static update::HandoverView view;
    const update::HandoverRange reads = update::own_handover_range();
    const Status s = update::parse_handover(reinterpret_cast<const u8*>(record),
                                            static_cast<usize>(map), reads.min, reads.max, view);
    if (s != Status::Ok) {
        kprint("handover: record refused: %s; handing back\n", status_name(s));
        hand_back(back, cookie, update::HandBackReason::RecordRefused, s);
    }
    update::report_record_checked(view);
    static Platform platform;
    static char cmdline[BootInfo::kCmdlineMax];
    const bool described = take_platform(*view.old_image, platform, cmdline, sizeof cmdline);
    if (described) vm_manager().set_topology(platform);
    const bool pool = update::take_pool(view, base, span);
    // The VMs' stage-2 tables, where the record says they are: this image's own from now.
    const bool tables =
        view.old_image->tables_size == kTableRegionBytes &&
        el2_map(view.old_image->tables_base, kTableRegionBytes, MapKind::ReadWrite) == Status::Ok &&
        vm_tables_use_region(view.old_image->tables_base, kTableRegionBytes) == Status::Ok;
    const bool in_place = tables && update::check_stage2_in_place<Stage2Format>(view);
    const bool vms = pool && take_vms(view, in_place);
    // The assigned VFs' I/O state, where the I/O region keeps it (docs/handover.md §2.2 Io).
    const bool io = vms && take_io(view, platform);
    // Every core the outgoing image has online but this one comes over (§4.5).
    const u32 cores = static_cast<u32>(__builtin_popcountll(view.old_image->cores_online)) - 1;
    auto& d = *reinterpret_cast<Doorbell*>(doorbell);
    const u32 arrived = take_in_secondaries(d, cores);
    if (!described || !tables || !vms || !io)
        send_back(d, arrived, back, cookie, update::HandBackReason::AdoptionRefused,
                  !described ? "no platform description" : "adoption refused");
    if (arrived != cores)
        send_back(d, arrived, back, cookie, update::HandBackReason::CoresMissing,
                  "not every core came over");
    // Read as memory: a test patches the note in the ELF before signing (image_note.hpp).
    if ((*reinterpret_cast<const volatile u32*>(&update::keel_image_note.flags) &
         update::kNoteFlagFailHealthCheck) != 0)
        send_back(d, arrived, back, cookie, update::HandBackReason::HealthCheck,
                  "health check failed (this image fails it on purpose: a test image)");
    kprint("handover: %u VMs adopted, %u cores came over: staying\n", view.vm_count, arrived);
    stay(view, d, platform, cmdline, parked_cores(view));
}

// A parked core of the outgoing image (handover_jump.S keel_handover_secondary, on its own
// stack, MMU off): the boot core's EL2 tables, a line to say it is here, and back. It touches
// no EL1, FP/SIMD or ICH_* register: its guest's state stays in the core.
extern "C" [[noreturn]] void handover_secondary_main(u64, u64 back, u64, u64 cookie, u64 doorbell) {
    el2_enable_mmu();
    auto& d = *reinterpret_cast<Doorbell*>(doorbell);
    __atomic_add_fetch(&d.arrived, 1u, __ATOMIC_ACQ_REL);
    u32 go = kGoWait;
    while ((go = __atomic_load_n(&d.go, __ATOMIC_ACQUIRE)) == kGoWait)
        asm volatile("wfe" ::: "memory");
    const auto why =
        static_cast<update::HandBackReason>(__atomic_load_n(&d.reason, __ATOMIC_RELAXED));
    PerCpu* me = go == kGoStay ? cpu_by_mpidr(KEEL_READ_SYSREG(mpidr_el1)) : nullptr;
    __atomic_add_fetch(&d.left, 1u, __ATOMIC_ACQ_REL); // the doorbell is not read again
    if (go == kGoStay) {
        if (me != nullptr) keel_adopted_secondary(me); // never returns
        kprint("handover: cpu %llu is not one the record named: idle for good\n",
               static_cast<unsigned long long>(KEEL_READ_SYSREG(mpidr_el1) & 0xff));
        for (;;)
            asm volatile("wfe");
    }
    hand_back(back, cookie, why, Status::Ok);
}

} // namespace keel::arm64
