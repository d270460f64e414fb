// x86_64 live update (arch/update_interface.hpp, docs/handover.md §1, §5.1). The update
// region is reserved at boot as on arm64, so UPDATE Begin, Chunk and Verify stage an
// incoming keel.img and run the boot stage's checks and the handover-ABI check on it. Apply
// places the image in the run slot, parks every running vCPU (virt/quiesce.hpp), writes the
// record (the VMs through virt/handover_vm.cpp) and enters the image (handover_jump.S) on a
// flat identity map built in the region; the other cores visit it through the doorbell
// (visit_incoming_image). The image adopts every VM and core and stays (handover_stay.cpp),
// or sends every core back and hands back, and every vCPU resumes as it parked. An image that
// stayed is on trial (docs/handover.md §4.7): it takes the outgoing image's update region over
// (take_outgoing) and commits on the controller's word (release_outgoing), or puts the
// outgoing image back from its pristine copy (restore_outgoing) and enters it with a rollback
// record (enter_outgoing). An assigned VF keeps its DMA and MSIs: VT-d's tables live in the
// I/O region (reserve_io), which the record names with the VFs and each VM's PCIe view
// (io_describe). Under VT-x (its VMXON regions and VMCSs are not handed over) Apply is
// refused before anything changes (swap_missing).
#include <arch/ticks.hpp>
#include <arch/update.hpp>
#include <string.h>

#include "apic.hpp"
#include "descriptors.hpp"
#include "handover_stay.hpp"
#include "hypervisor/io/io_handover.hpp"
#include "hypervisor/io/io_region.hpp"
#include "hypervisor/update/describe_pool.hpp"
#include "hypervisor/update/doorbell.hpp"
#include "hypervisor/update/place.hpp"
#include "hypervisor/update/take_over.hpp"
#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm.hpp"
#include "hypervisor/vm/vm_manager.hpp"
#include "paging.hpp"
#include "percpu.hpp"
#include "tsc.hpp"
#include "virt/backend.hpp"
#include "virt/handover_vm.hpp"
#include "virt/quiesce.hpp"
#include "virt/vm_tables.hpp"
#include "vmx/vmx.hpp"

extern "C" char __image_start[], __image_end[], __rodata_end[], __bss_start[], __pristine_copy[],
    keel_uefi_entry[];
extern "C" keel::u64 keel_x86_handover_call(keel::u64 entry, keel::u64 record, keel::u64 flat_cr3,
                                            keel::u64* save, keel::u64 doorbell);

namespace keel::x86 {
namespace {

// The update region (docs/handover.md §1.1): the run slot the incoming image is placed in
// and runs from (its first 4 MiB: the x86 image spans 2.3 MiB with its .bss), then the staged
// file, the flat map's tables, a spare page, and the handover record's buffer at its end.
constexpr u64 kReserveBytes = 8 * MiB;
constexpr u64 kSlotBytes = 4 * MiB;
constexpr u64 kRecordBytes = 128 * KiB;
constexpr u64 kFlatPages = 2 + 4; // PML4, PDPT, 4 PDs of 2 MiB pages: the low 4 GiB
constexpr u64 kDoorbellOffset = kReserveBytes - kRecordBytes - 4 * KiB; // its own page
constexpr u64 kFlatOffset = kDoorbellOffset - kFlatPages * 4 * KiB;
constexpr u64 kStagedEnd = kFlatOffset;

// What the other cores need to visit the incoming image (docs/handover.md §4.5): the doorbell
// (0 until the region is reserved), the flat map and the record of the jump in progress, how
// many cores are inside it or on their way, how many quiesces began (an idle core visits once
// in each), and each core's save area for keel_x86_handover_call.
u64 g_doorbell = 0;
u64 g_flat = 0;
u32 g_visiting = 0;
u32 g_quiesces = 0;
alignas(16) u64 g_save[kMaxCpus][16];

update::Doorbell& doorbell() { return *reinterpret_cast<update::Doorbell*>(g_doorbell); }

// The flat identity map of the low 4 GiB the incoming image runs on (handover_jump.S):
// present, writable, executable 2 MiB pages (SDM Vol. 3A 4.5), in the region at `at`.
u64 build_flat_map(u64 at) {
    auto* pml4 = reinterpret_cast<u64*>(at);
    auto* pdpt = reinterpret_cast<u64*>(at + 4 * KiB);
    memset(pml4, 0, kFlatPages * 4 * KiB);
    constexpr u64 kPresentWritable = 0x3, kLarge = 0x80;
    pml4[0] = reinterpret_cast<uptr>(pdpt) | kPresentWritable;
    for (u64 g = 0; g < 4; ++g) {
        auto* pd = reinterpret_cast<u64*>(at + (2 + g) * 4 * KiB);
        pdpt[g] = reinterpret_cast<uptr>(pd) | kPresentWritable;
        for (u64 i = 0; i < 512; ++i)
            pd[i] = (g << 30 | i << 21) | kPresentWritable | kLarge;
    }
    return at;
}

// vCPUs running in a guest now (each parks at its next entry or HLT wait).
u32 vcpus_on() {
    u32 n = 0;
    for (u32 id = 1; id <= Vm::kMaxVms; ++id) {
        const Vm* vm = vm_manager().find(id);
        if (vm == nullptr) continue;
        for (u32 i = 0; i < vm->arch.vcpus; ++i)
            n += __atomic_load_n(&vm->arch.vcpu[i].run, __ATOMIC_ACQUIRE) ==
                 static_cast<u32>(virt::VcpuRun::Running);
    }
    return n;
}

// Each core that runs a vCPU kicked (apic_send_kick): its guest exits now, not at its kick
// timer, and the vCPU parks (virt/quiesce.hpp).
void kick_running() {
    for (u32 id = 1; id <= Vm::kMaxVms; ++id) {
        const Vm* vm = vm_manager().find(id);
        if (vm == nullptr) continue;
        for (u32 i = 0; i < vm->arch.vcpus; ++i) {
            const u32 core = virt::core_of_vcpu(vm->cpu_mask, i);
            if (core < kMaxCpus && __atomic_load_n(&vm->arch.vcpu[i].run, __ATOMIC_ACQUIRE) ==
                                       static_cast<u32>(virt::VcpuRun::Running))
                apic_send_kick(cpu(core).apic_id);
        }
    }
}

class X86Swap final : public update::Swap {
public:
    Status reserve(u8** region, u64* region_size, u8** record, u64* record_size) override {
        if (reserved_ == 0) {
            Result<PhysAddr> r = pool_reserve_hypervisor(kReserveBytes, "the live-update region");
            if (!r.ok()) return r.status();
            // Out of the pool for good: hypervisor memory now, identity-mapped like its data.
            KEEL_TRY(map_phys(r.value().raw(), kReserveBytes, MapKind::ReadWrite));
            reserved_ = r.value().raw();
            g_doorbell = reserved_ + kDoorbellOffset;
        }
        if (virt::vm_tables_region() == 0) {
            // The VMs' second-stage tables outlive this image (docs/handover.md §5.1): taken
            // now, before any VM has a table.
            Result<PhysAddr> t = pool_reserve_hypervisor(virt::kTableRegionBytes, "EPT/NPT tables");
            if (!t.ok()) return t.status();
            KEEL_TRY(map_phys(t.value().raw(), virt::kTableRegionBytes, MapKind::ReadWrite));
            KEEL_TRY(virt::vm_tables_use_region(t.value().raw(), virt::kTableRegionBytes));
        }
        *region = reinterpret_cast<u8*>(reserved_ + kSlotBytes);
        *region_size = kStagedEnd - kSlotBytes;
        *record = reinterpret_cast<u8*>(reserved_ + kReserveBytes - kRecordBytes);
        *record_size = kRecordBytes;
        return Status::Ok;
    }

    // The I/O region (hypervisor/io/io_region.hpp), taken at boot before VT-d comes up: whole
    // 2 MiB blocks of the pool, identity-mapped like the hypervisor's data.
    Status reserve_io(u64 bytes, u64* base, u64* size) override {
        const u64 want = align_up(bytes, 2 * MiB);
        Result<PhysAddr> r = pool_reserve_hypervisor(want, "the I/O region");
        if (!r.ok()) return r.status();
        KEEL_TRY(map_phys(r.value().raw(), want, MapKind::ReadWrite));
        *base = r.value().raw();
        *size = want;
        return Status::Ok;
    }

    // Asked at each Apply: the flat map reaches the low 4 GiB only, and a VMCS cannot be
    // described from the boot core yet.
    const char* swap_missing() override {
        if (reserved_ + kReserveBytes > 4 * GiB) return "the update region lies above 4 GiB";
        // Each core is in VMX operation with its VMXON region in this image, and a VMCS is
        // readable only on its own core: neither is handed over yet (§5.1).
        if (virt::backend() == virt::Backend::Vmx)
            return "VT-x cores and vCPUs cannot be handed over yet";
        // The incoming image reads the I/O region on the flat map too.
        if (const u64 io = reinterpret_cast<uptr>(io_region()); io + io_region_size() > 4 * GiB)
            return "the I/O region lies above 4 GiB";
        return nullptr;
    }

    const char* swap_summary() override {
        return "quiesce and record, enter the new image, which adopts every VM and core and "
               "stays until the controller's Commit, or rolls back";
    }

    // Every running vCPU parks at its next entry or in its HLT wait (virt/quiesce.hpp).
    Status quiesce(u64 timeout_ms, u32* parked) override {
        // The other cores' turn first where one thread runs them all in turn (QEMU -icount:
        // the image was just laid out and hashed on this core), so the blackout a guest sees
        // starts here; a spin-wait hint, nothing more, on hardware.
        asm volatile("pause" ::: "memory");
        const arch::TickCount t0 = arch::ticks();
        quiesce_tick_ = t0.count;
        __atomic_add_fetch(&g_quiesces, 1u, __ATOMIC_ACQ_REL);
        __atomic_store_n(&virt::g_quiesce_request, 1u, __ATOMIC_RELEASE);
        kick_running();
        const u64 limit = t0.hz != 0 ? t0.hz / 1000 * timeout_ms : ~0ull;
        for (;;) {
            const u32 on = vcpus_on();
            if (__atomic_load_n(&virt::g_parked, __ATOMIC_ACQUIRE) >= on) {
                *parked = on;
                return Status::Ok;
            }
            if (arch::ticks().count - t0.count > limit) break;
            asm volatile("pause" ::: "memory");
        }
        resume();
        *parked = 0;
        return Status::Timeout;
    }
    Status describe(update::HandoverWriter& w) override {
        // The clock rates every core shares (ABI 8; a reader of 7 measures them itself).
        if (w.abi() >= update::record_since(update::RecordType::X86Clock)) {
            static_assert(static_cast<u32>(TscSource::Cpuid15) == 1 &&
                              static_cast<u32>(TscSource::Pit) == update::kX86TscSourceMax,
                          "docs/handover.md §2.2 X86Clock tsc_source");
            const TscRate t = tsc_rate();
            update::X86ClockRecord c{};
            c.tsc_hz = t.hz;
            c.tsc_source = t.hz != 0 ? static_cast<u32>(t.source) : 0;
            c.timer_per_tsc_q32 = t.hz != 0 ? apic_timer_rate() : 0;
            KEEL_TRY(w.add(update::RecordType::X86Clock, c));
        }
        u32 described = 0; // bit id
        for (u32 id = 1; id <= Vm::kMaxVms; ++id)
            if (const Vm* vm = vm_manager().find(id); vm != nullptr && vm->arch.vcpus != 0) {
                KEEL_TRY(virt::describe_vm(*vm, w));
                described |= 1u << id;
            }
        // The VT-d unit, its routes, the VFs and each VM's PCIe view (with an I/O region).
        KEEL_TRY(io_describe(w, described));
        u64 base = 0, span = 0, entry = 0;
        image_span(&base, &span, &entry);
        // In the trial (§4.7) this image runs in the update region it took over, and the
        // outgoing image's blocks are still the hypervisor's.
        return update::describe_pool(w, base, span, reserved_, reserved_ != 0 ? kReserveBytes : 0,
                                     outgoing_.base, outgoing_.span);
    }
    void resume() override {
        __atomic_store_n(&virt::g_quiesce_request, 0u, __ATOMIC_RELEASE);
        // Until every parked vCPU has seen it, so the next quiesce counts afresh.
        while (__atomic_load_n(&virt::g_parked, __ATOMIC_ACQUIRE) != 0)
            asm volatile("pause" ::: "memory");
    }
    void image_span(u64* base, u64* span, u64* entry) override {
        *base = reinterpret_cast<uptr>(__image_start);
        *span = static_cast<u64>(__image_end - __image_start);
        *entry = reinterpret_cast<uptr>(keel_uefi_entry);
    }
    u64 device_tree() override { return 0; }
    void describe_image(update::OldImageRecord& r) override {
        u64 online = 0;
        for (u32 i = 0; i < kMaxCpus; ++i)
            online |= u64{__atomic_load_n(&cpu(i).online, __ATOMIC_ACQUIRE) != 0} << i;
        r.cores_online = online;
        r.tables_base = virt::vm_tables_region();
        r.tables_size = r.tables_base != 0 ? virt::kTableRegionBytes : 0;
        r.quiesce_tick = quiesce_tick_;
        // The tables the platform was read from, for the incoming image's own reading.
        r.acpi_rsdp = adopted_rsdp() != 0 ? adopted_rsdp() : boot_info().rsdp;
        // What both entries copied before anything wrote it (linker.ld .pristine): a rollback
        // to this image puts it back (§4.7).
        r.restore_offset = static_cast<u64>(__rodata_end - __image_start);
        r.restore_size = static_cast<u64>(__bss_start - __rodata_end);
        r.restore_copy = static_cast<u64>(__pristine_copy - __image_start);
    }
    void run_slot(u8** slot, u64* size) override {
        // None in the trial: the slot of the region taken over is where this image runs.
        const bool ok = reserved_ != 0 && outgoing_.base == 0;
        *slot = ok ? reinterpret_cast<u8*>(reserved_) : nullptr;
        *size = ok ? kSlotBytes : 0;
    }
    update::HandBack enter(u64 entry_offset, const u8* record, u64) override {
        if (reserved_ == 0 || entry_offset >= kSlotBytes || outgoing_.base != 0) return {};
        return enter_at(reserved_ + entry_offset, record);
    }
    // The commit (docs/handover.md §4.6): the outgoing image's blocks and its update region
    // after the run slot (the staged file, the flat map, the doorbell, the record) back in the
    // pool. The run slot is where this image runs: it stays the hypervisor's.
    u64 release_outgoing(const update::OldImageRecord& record) override {
        const update::OldImageRecord old = record; // the record lies in what is freed below
        const update::KeptSpan self{reinterpret_cast<uptr>(__image_start),
                                    reinterpret_cast<uptr>(__image_end)};
        (void)unmap_phys(old.update_region, kReserveBytes - kSlotBytes);
        const u64 freed =
            update::release_outgoing_memory(old, kReserveBytes - kSlotBytes, &self, 1);
        // The region taken over for the trial is gone with it: reserve() takes a new one.
        if (outgoing_.base != 0) {
            reserved_ = 0;
            g_doorbell = 0;
            outgoing_ = update::OldImageRecord{};
        }
        return freed;
    }

    // The trial (§4.7): the outgoing image's update region becomes this image's (its run slot
    // is where this image runs; the staged file, the flat map's pages, the doorbell and the
    // record buffer are taken over, writable), and the outgoing image stays reserved.
    Status take_outgoing(const update::OldImageRecord& old, u8** record,
                         u64* record_size) override {
        const u64 region = old.update_region - kSlotBytes;
        const u64 self = reinterpret_cast<uptr>(__image_start);
        // Laid out as this image's region, below 4 GiB as the flat map needs (both the
        // region and the outgoing image, entered on it), with a pristine copy to go back to
        // (its spans checked with the record: update::old_image_consistent).
        if (reserved_ != 0 || old.update_region < kSlotBytes || self != region ||
            old.update_region_size != kStagedEnd - kSlotBytes || old.restore_size == 0 ||
            old.base == 0 || old.span == 0 || old.base + old.span > 4 * GiB ||
            region + kReserveBytes > 4 * GiB)
            return Status::Unsupported;
        // So far the record read only and the doorbell's page (handover_entry.cpp).
        KEEL_TRY(unmap_phys(old.update_region, kReserveBytes - kSlotBytes));
        KEEL_TRY(map_phys(old.update_region, kReserveBytes - kSlotBytes, MapKind::ReadWrite));
        reserved_ = region;
        g_doorbell = reserved_ + kDoorbellOffset;
        // It still says what brought this image in (its entry, "stay"): every core is done
        // with it (handover_stay.cpp waited for them), and none may find it at a quiesce.
        doorbell() = update::Doorbell{};
        outgoing_ = old;
        memset(outgoing_.entropy, 0, sizeof outgoing_.entropy);
        *record = reinterpret_cast<u8*>(reserved_ + kReserveBytes - kRecordBytes);
        *record_size = kRecordBytes;
        return Status::Ok;
    }

    // Outside the blackout: the outgoing image's .dynamic and .data as loaded, from its
    // pristine copy, the rest after the loaded bytes zero (update::restore_image). Mapped
    // writable only meanwhile: this image never touches it otherwise.
    Status restore_outgoing() override {
        const update::OldImageRecord& o = outgoing_;
        if (o.base == 0 || o.restore_size == 0) return Status::BadState;
        KEEL_TRY(unmap_phys(o.base, o.span));
        KEEL_TRY(map_phys(o.base, o.span, MapKind::ReadWrite));
        const Status s = update::restore_image(reinterpret_cast<u8*>(o.base), o);
        (void)unmap_phys(o.base, o.span);
        return s;
    }

    // The outgoing image at its own 64-bit entry, where it ran, as any incoming image.
    update::HandBack enter_outgoing(const u8* record, u64) override {
        if (outgoing_.base == 0 || reserved_ == 0) return {};
        return enter_at(outgoing_.entry, record);
    }

private:
    // Boot core, interrupts masked from the jump until the image hands back. The other cores
    // visit it through the doorbell while it runs (visit_incoming_image).
    update::HandBack enter_at(u64 entry, const u8* record) {
        doorbell() = update::Doorbell{};
        g_flat = build_flat_map(reserved_ + kFlatOffset);
        const u64 code = keel_x86_handover_call(entry, reinterpret_cast<uptr>(record), g_flat,
                                                g_save[this_cpu().index], g_doorbell);
        tlb_catch_up(); // the flat map's translations are gone with the CR3 reload
        // No core enters any more; those inside or on their way are waited for.
        __atomic_store_n(&doorbell().secondary_entry, 0ull, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&g_visiting, __ATOMIC_SEQ_CST) != 0)
            asm volatile("pause" ::: "memory");
        return update::decode_hand_back(code);
    }

    u64 reserved_ = 0; // the region's physical (= virtual: identity) address
    u64 quiesce_tick_ = 0;
    // The trial (§4.7): the outgoing image this one replaced, not committed yet (base 0: none).
    // reserved_ is then the outgoing image's update region, taken over.
    update::OldImageRecord outgoing_{};
};

constinit X86Swap g_swap;

} // namespace
} // namespace keel::x86

namespace keel::virt {

// Counted in g_visiting before the entry is read, so that the boot core, which clears the
// entry and then waits for g_visiting to drain, never resumes with a core still inside.
bool visit_incoming_image() {
    using namespace x86;
    if (g_doorbell == 0) return false;
    __atomic_add_fetch(&g_visiting, 1u, __ATOMIC_SEQ_CST);
    const u64 entry = __atomic_load_n(&doorbell().secondary_entry, __ATOMIC_SEQ_CST);
    if (entry != 0) {
        // The incoming image's secondary entry: RDI = the doorbell, on the flat map.
        (void)keel_x86_handover_call(entry, g_doorbell, g_flat, g_save[this_cpu().index],
                                     g_doorbell);
        tlb_catch_up();
        __atomic_add_fetch(&doorbell().back, 1u, __ATOMIC_ACQ_REL);
    }
    __atomic_sub_fetch(&g_visiting, 1u, __ATOMIC_SEQ_CST);
    return entry != 0;
}

void visit_while_idle(u32* seen) {
    if (__atomic_load_n(&g_quiesce_request, __ATOMIC_ACQUIRE) == 0) return;
    const u32 q = __atomic_load_n(&x86::g_quiesces, __ATOMIC_ACQUIRE);
    if (*seen != q && visit_incoming_image()) *seen = q; // not named yet: later
}

} // namespace keel::virt

namespace keel::arch {

update::Swap* live_update() { return &x86::g_swap; }

} // namespace keel::arch
