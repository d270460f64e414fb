// arm64 live update's swap mechanics (arch/update_interface.hpp, docs/handover.md §4): park
// every running vCPU at EL2 between two exits, describe the VMs for the handover record,
// enter the incoming image placed in the run slot (handover_jump.S), which stays or hands
// back, and let the vCPUs run again after a hand back. On the incoming image that stayed:
// give the outgoing image's memory back at the commit, or, in the trial before it, take the
// outgoing image's region over and roll back into the outgoing image restored from its
// pristine copy (§4.7). Stage-2 tables and VTTBR_EL2 are left as they are throughout.
#include "live_update.hpp"

#include <arch/console.hpp>
#include <arch/ticks.hpp>
#include <arch/update.hpp>
#include <string.h>

#include "cache_ops.hpp"
#include "dtb_platform.hpp"
#include "gic_phys.hpp"
#include "handover_entry.hpp"
#include "handover_records.hpp"
#include "hypervisor/io/io_handover.hpp"
#include "hypervisor/update/describe_pool.hpp"
#include "hypervisor/update/place.hpp"
#include "hypervisor/update/take_over.hpp"
#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm.hpp"
#include "hypervisor/vm/vm_manager.hpp"
#include "mmu.hpp"
#include "percpu.hpp"
#include "sysreg.hpp"
#include "vm_arch.hpp"
#include "vm_context.hpp"

extern "C" char __image_start[], __image_end[], _head[], __rodata_end[], __bss_start[],
    __pristine_copy[];
extern "C" {
#include <libfdt.h>
}
extern "C" keel::u64 keel_handover_call(keel::u64 entry, keel::u64 record, keel::u64 uart,
                                        keel::u64* save, keel::u64 doorbell);

namespace keel::arm64 {
namespace {

u32 g_parked = 0; // vCPUs parked now (atomic)
// The update region: one run taken out of the pool at boot (docs/handover.md §1.1, §1.4):
// the run slot the incoming image is placed in and runs from (its first 2 MiB, 2 MiB
// aligned like any pool run), then the staged file, the doorbell's page (§4.5), the
// handover record's buffer.
constexpr u64 kReserveBytes = 4 * MiB;
constexpr u64 kSlotBytes = 2 * MiB;
constexpr u64 kRecordBytes = 128 * KiB;
constexpr u64 kDoorbellOffset = kReserveBytes - kRecordBytes - 4 * KiB;
u64 g_reserved = 0; // its physical (= EL2 virtual: identity) address
// Each core's save area for the jump (handover_jump.S: 24 words, three cache lines).
alignas(64) u64 g_save[PerCpu::kMaxCpus][24];
u64 g_record = 0;       // the record the parked cores hand the incoming image
u32 g_visiting = 0;     // parked cores inside the incoming image or about to enter it
u32 g_quiesces = 0;     // quiesces so far: an idle core visits the incoming image once per one
u64 g_quiesce_tick = 0; // when the current quiesce was asked for (the blackout's start)
// The trial (docs/handover.md §4.7): the outgoing image this one replaced, not committed yet
// (base 0: none). g_reserved is then the outgoing image's update region, taken over.
update::OldImageRecord g_outgoing{};

Doorbell& doorbell() { return *reinterpret_cast<Doorbell*>(g_reserved + kDoorbellOffset); }
u64 fdt_size(u64 dtb) { return fdt_totalsize(reinterpret_cast<const void*>(dtb)); }

// vCPUs inside a guest now (on: from CPU_ON or start until they stop).
u32 vcpus_on() {
    u32 n = 0;
    for (u32 id = 1; id <= Vm::kMaxVms; ++id) {
        const Vm* vm = vm_manager().find(id);
        if (vm == nullptr) continue;
        for (u32 i = 0; i < vm->arch.nvcpus; ++i)
            n += __atomic_load_n(&vm->arch.vcpus[i].on, __ATOMIC_ACQUIRE) != 0;
    }
    return n;
}

// Takes every running vCPU out of its guest at once (the next exit parks it).
void kick_all() {
    for (u32 id = 1; id <= Vm::kMaxVms; ++id) {
        const Vm* vm = vm_manager().find(id);
        if (vm == nullptr) continue;
        for (u32 i = 0; i < vm->arch.nvcpus; ++i)
            if (__atomic_load_n(&vm->arch.vcpus[i].on, __ATOMIC_ACQUIRE))
                gic_kick(vm->arch.vcpus[i].core);
    }
}

class Arm64Swap final : public update::Swap {
public:
    Status reserve(u8** region, u64* region_size, u8** record, u64* record_size) override {
        if (g_reserved == 0) {
            Result<PhysAddr> r = pool_reserve_hypervisor(kReserveBytes, "the live-update region");
            if (!r.ok()) return r.status();
            // Out of the pool for good: hypervisor memory now, mapped like its own data.
            KEEL_TRY(el2_map(r.value().raw(), kReserveBytes, MapKind::ReadWrite));
            g_reserved = r.value().raw();
        }
        if (vm_tables_region() == 0) {
            // The VMs' stage-2 tables outlive this image (docs/handover.md §2.2 OldImage):
            // taken now, before any VM has a table, unless an update adopted them.
            Result<PhysAddr> t = pool_reserve_hypervisor(kTableRegionBytes, "stage-2 tables");
            if (!t.ok()) return t.status();
            KEEL_TRY(el2_map(t.value().raw(), kTableRegionBytes, MapKind::ReadWrite));
            KEEL_TRY(vm_tables_use_region(t.value().raw(), kTableRegionBytes));
        }
        *region = reinterpret_cast<u8*>(g_reserved + kSlotBytes);
        *region_size = kDoorbellOffset - kSlotBytes;
        *record = reinterpret_cast<u8*>(g_reserved + kReserveBytes - kRecordBytes);
        *record_size = kRecordBytes;
        return Status::Ok;
    }

    Status reserve_io(u64 bytes, u64* base, u64* size) override {
        const u64 want = align_up(bytes, 2 * MiB);
        Result<PhysAddr> r = pool_reserve_hypervisor(want, "the I/O region");
        if (!r.ok()) return r.status();
        KEEL_TRY(el2_map(r.value().raw(), want, MapKind::ReadWrite));
        *base = r.value().raw();
        *size = want;
        return Status::Ok;
    }

    Status quiesce(u64 timeout_ms, u32* parked) override {
        // The other cores' turn first where one thread runs them all in turn (QEMU -icount:
        // the image was just laid out and hashed on this core without a pause), so the
        // blackout a guest sees starts here; a hint, nothing more, on hardware.
        asm volatile("yield" ::: "memory");
        const arch::TickCount t0 = arch::ticks();
        g_quiesce_tick = t0.count;
        __atomic_add_fetch(&g_quiesces, 1u, __ATOMIC_RELEASE);
        __atomic_store_n(&g_quiesce_request, 1u, __ATOMIC_RELEASE);
        const u64 limit = t0.hz != 0 ? t0.hz / 1000 * timeout_ms : ~0ull;
        kick_all();
        for (u32 spins = 0;; ++spins) {
            const u32 on = vcpus_on();
            if (__atomic_load_n(&g_parked, __ATOMIC_ACQUIRE) >= on) {
                *parked = on;
                return Status::Ok;
            }
            if (arch::ticks().count - t0.count > limit) break;
            if (spins % 4096 == 4095) kick_all(); // one that was just started by CPU_ON
            // A spin-wait hint: under QEMU's one-thread round robin (-icount) it hands the
            // other cores their turn, without which none of them would ever park.
            asm volatile("yield" ::: "memory");
        }
        resume();
        *parked = 0;
        return Status::Timeout;
    }

    Status describe(update::HandoverWriter& w) override {
        const u64 vtcr = KEEL_READ_SYSREG(vtcr_el2);
        u32 described = 0; // bit id: a VM with records
        for (u32 id = 1; id <= Vm::kMaxVms; ++id) {
            const Vm* vm = vm_manager().find(id);
            if (vm == nullptr || vm->arch.nvcpus == 0) continue;
            described |= 1u << id;
            const VmContext& a = vm->arch;
            KEEL_TRY(update::describe_vm_record(w, *vm, a.nvcpus));
            const update::Stage2Record s2{id, id, a.stage2.root().raw(), vtcr, vm->ram_ipa().raw()};
            KEEL_TRY(w.add(update::RecordType::Stage2, s2));
            KEEL_TRY(w.add(update::RecordType::VgicDist, dist_record(id, a.dist)));
            KEEL_TRY(w.add(update::RecordType::VmDevices, devices_record(id, a.uart, a.gpio)));
            const u64 cntvoff = KEEL_READ_SYSREG(cntvoff_el2);
            for (u32 i = 0; i < a.nvcpus; ++i) {
                const Vcpu& v = a.vcpus[i];
                const u32 on = __atomic_load_n(&v.on, __ATOMIC_ACQUIRE);
                KEEL_TRY(w.add(update::RecordType::Vcpu, vcpu_record(id, v, on, cntvoff)));
            }
        }
        // The assigned VFs' state: the I/O region, the SMMU, the ITS, the VF table, each VM's
        // PCI view (hypervisor/io/io_handover.hpp).
        KEEL_TRY(io_describe(w, described));
        // Pool ownership: the hypervisor's own span, the update region, each VM's RAM and
        // every free run, so the incoming image's pool is exactly this (what no run names,
        // device tree or firmware memory, is not pool memory). Not committed yet (§4.7):
        // this image runs in the update region it took over, and the outgoing image's blocks
        // are still the hypervisor's.
        u64 base = 0, span = 0, entry = 0;
        image_span(&base, &span, &entry);
        return update::describe_pool(w, base, span, g_reserved, g_reserved != 0 ? kReserveBytes : 0,
                                     g_outgoing.base, g_outgoing.span);
    }

    void resume() override {
        __atomic_store_n(&g_quiesce_request, 0u, __ATOMIC_RELEASE);
        asm volatile("dsb ish; sev" ::: "memory");
        // Until every parked core has seen it, so the next quiesce counts afresh.
        while (__atomic_load_n(&g_parked, __ATOMIC_ACQUIRE) != 0)
            asm volatile("yield" ::: "memory");
    }

    void image_span(u64* base, u64* span, u64* entry) override {
        *base = reinterpret_cast<uptr>(__image_start);
        *span = static_cast<u64>(__image_end - __image_start);
        *entry = reinterpret_cast<uptr>(_head);
    }

    u64 device_tree() override {
        return g_adopted_dtb != 0 ? g_adopted_dtb : reinterpret_cast<uptr>(boot_dtb_scan().fdt);
    }

    void describe_image(update::OldImageRecord& r) override {
        u64 online = 0;
        for (u32 i = 0; i < PerCpu::kMaxCpus; ++i)
            online |= u64{__atomic_load_n(&cpu(i).online, __ATOMIC_ACQUIRE) != 0} << i;
        r.cores_online = online;
        r.tables_base = vm_tables_region();
        r.tables_size = r.tables_base != 0 ? kTableRegionBytes : 0;
        r.quiesce_tick = g_quiesce_tick;
        // No device tree (an ACPI boot): the tables the platform was read from.
        r.acpi_rsdp = device_tree() != 0    ? 0
                      : g_adopted_rsdp != 0 ? g_adopted_rsdp
                                            : boot_dtb_scan().rsdp;
        // What start.S copied at entry (linker.ld .pristine): a rollback to this image.
        r.restore_offset = static_cast<u64>(__rodata_end - __image_start);
        r.restore_size = static_cast<u64>(__bss_start - __rodata_end);
        r.restore_copy = static_cast<u64>(__pristine_copy - __image_start);
    }

    void run_slot(u8** slot, u64* size) override {
        // None during the trial: the slot of the region taken over is where this image runs.
        const bool ok = g_reserved != 0 && g_outgoing.base == 0;
        *slot = ok ? reinterpret_cast<u8*>(g_reserved) : nullptr;
        *size = ok ? kSlotBytes : 0;
    }

    u64 release_outgoing(const update::OldImageRecord& record) override {
        // A copy: the record lies in what is unmapped and given back below.
        const update::OldImageRecord old = record;
        // This image, and the device tree it reads (none: an empty span).
        const update::KeptSpan keep[2] = {
            {reinterpret_cast<uptr>(__image_start), reinterpret_cast<uptr>(__image_end)},
            {old.dtb, old.dtb + (old.dtb != 0 ? fdt_size(old.dtb) : 0)}};
        // Its update region after the run slot: the staged file, the doorbell, the record.
        el2_unmap(old.update_region, kReserveBytes - kSlotBytes);
        const u64 freed = update::release_outgoing_memory(old, kReserveBytes - kSlotBytes, keep, 2);
        // The region taken over for the trial is gone with it: reserve() takes a new one.
        if (g_outgoing.base != 0) {
            g_reserved = 0;
            g_outgoing = update::OldImageRecord{};
        }
        return freed;
    }

    Status take_outgoing(const update::OldImageRecord& old, u8** record,
                         u64* record_size) override {
        const u64 region = old.update_region - kSlotBytes;
        const u64 self = reinterpret_cast<uptr>(__image_start);
        // The outgoing image's region laid out as this image's (§1.1: its run slot is where
        // this image runs), and a pristine copy to go back to.
        if (g_reserved != 0 || old.update_region < kSlotBytes || self != region ||
            old.update_region_size != kDoorbellOffset - kSlotBytes || old.restore_size == 0 ||
            old.base == 0 || old.span == 0)
            return Status::Unsupported;
        // The staged file, the doorbell and the record (read only so far) writable.
        el2_unmap(old.update_region, kReserveBytes - kSlotBytes);
        KEEL_TRY(el2_map(old.update_region, kReserveBytes - kSlotBytes, MapKind::ReadWrite));
        g_reserved = region;
        // The doorbell still says what the update that brought this image said (its entry,
        // "stay"): every core is done with it (handover_stay.cpp waited for them), and an
        // idle core must not find it at the next quiesce.
        doorbell() = Doorbell{};
        dcache_clean_inval_poc(reinterpret_cast<uptr>(&doorbell()), sizeof(Doorbell));
        g_outgoing = old;
        memset(g_outgoing.entropy, 0, sizeof g_outgoing.entropy);
        *record = reinterpret_cast<u8*>(g_reserved + kReserveBytes - kRecordBytes);
        *record_size = kRecordBytes;
        return Status::Ok;
    }

    Status restore_outgoing() override {
        const update::OldImageRecord& o = g_outgoing;
        if (o.base == 0 || o.restore_size == 0) return Status::BadState;
        KEEL_TRY(el2_map(o.base, o.span, MapKind::ReadWrite));
        KEEL_TRY(update::restore_image(reinterpret_cast<u8*>(o.base), o));
        dcache_clean_inval_poc(o.base, o.span); // read with the MMU off at its entry
        return Status::Ok;
    }

    update::HandBack enter_outgoing(const u8* record, u64 bytes) override {
        if (g_outgoing.base == 0 || g_reserved == 0) return update::HandBack{};
        return enter_at(g_outgoing.entry, record, bytes);
    }

    update::HandBack enter(u64 entry_offset, const u8* record, u64 bytes) override {
        if (g_reserved == 0 || entry_offset >= kSlotBytes || g_outgoing.base != 0)
            return update::HandBack{};
        // What the incoming image reads with its MMU off (itself, placed as data, and the
        // record) to the point of coherency, and out of the data cache.
        dcache_clean_inval_poc(g_reserved, kSlotBytes);
        return enter_at(g_reserved + entry_offset, record, bytes);
    }

private:
    update::HandBack enter_at(u64 entry, const u8* record, u64 bytes) {
        dcache_clean_inval_poc(reinterpret_cast<uptr>(record), bytes);
        // The parked cores wait in park_until_resumed(), where the doorbell brings them into
        // the incoming image and back (§4.5); this core comes back here (handover_jump.S).
        Doorbell& d = doorbell();
        d = Doorbell{};
        g_record = reinterpret_cast<uptr>(record);
        const u64 answer = keel_handover_call(entry, g_record, arch::console_base(),
                                              g_save[this_cpu().index], reinterpret_cast<uptr>(&d));
        // No parked core enters any more; wait for those inside to be home.
        __atomic_store_n(&d.secondary_entry, 0ull, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&g_visiting, __ATOMIC_SEQ_CST) != 0)
            asm volatile("yield" ::: "memory");
        return update::decode_hand_back(answer);
    }
};

Arm64Swap g_swap;

} // namespace

namespace {

// A parked core: once per quiesce, if the incoming image named its secondary entry, into it
// and back (docs/handover.md §4.5). Counted in g_visiting before the entry is read, so the
// boot core, which clears the entry and then waits for g_visiting to drain, never resumes
// with a core still inside. Returns whether it went.
bool visit_incoming_image() {
    if (g_reserved == 0) return false;
    Doorbell& d = doorbell();
    __atomic_add_fetch(&g_visiting, 1u, __ATOMIC_SEQ_CST);
    const u64 entry = __atomic_load_n(&d.secondary_entry, __ATOMIC_SEQ_CST);
    if (entry != 0) {
        (void)keel_handover_call(entry, g_record, arch::console_base(), g_save[this_cpu().index],
                                 reinterpret_cast<uptr>(&d));
        __atomic_add_fetch(&d.back, 1u, __ATOMIC_ACQ_REL);
    }
    __atomic_sub_fetch(&g_visiting, 1u, __ATOMIC_SEQ_CST);
    return entry != 0;
}

} // namespace

void visit_while_idle(u32* seen) {
    const u32 q = __atomic_load_n(&g_quiesces, __ATOMIC_ACQUIRE);
    if (!quiesce_requested() || *seen == q) return;
    if (visit_incoming_image()) *seen = q; // woken before the entry was named: later
}

void park_until_resumed() {
    __atomic_add_fetch(&g_parked, 1u, __ATOMIC_ACQ_REL);
    bool visited = false;
    while (quiesce_requested()) {
        if (!visited) visited = visit_incoming_image();
        asm volatile("wfe" ::: "memory");
    }
    __atomic_sub_fetch(&g_parked, 1u, __ATOMIC_ACQ_REL);
}

} // namespace keel::arm64

namespace keel::arch {

update::Swap* live_update() { return &arm64::g_swap; }

} // namespace keel::arch
