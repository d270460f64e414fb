// A live update's incoming image takes an x86 VM over from the handover record
// (arch/vm_interface.hpp vm_adopt, docs/handover.md §4 step 4, §5.1): its NPT adopted in
// place (its pages in the table region, claimed, not rebuilt; guest memory untouched), the
// emulated devices and each vCPU's registers and local APIC from their bytes (each size
// checked against this image's layout), and a VMCB for each vCPU that ran, built from its
// record (svm/handover.cpp). Everything is checked before the first write to the VM's slot.
// Only SVM: a VMCS is not described yet, so no record carries a VT-x vCPU.
#include <arch/vm.hpp>
#include <string.h>

#include "../percpu.hpp"
#include "backend.hpp"
#include "exit_policy.hpp"
#include "hypervisor/vm/vm.hpp"
#include "vm_tables.hpp"

namespace keel::virt {
namespace {

// The record's devices in this image's layouts, and its console queue whole.
bool devices_fit(const update::X86DevicesRecord& d) {
    return d.uart_bytes == sizeof(Uart) && d.ioapic_bytes == sizeof(Ioapic) &&
           d.pit_bytes == sizeof(Pit) && d.rtc_bytes == sizeof(Rtc) &&
           d.rx_head < sizeof d.rx_queue && d.rx_count <= sizeof d.rx_queue;
}

bool vcpu_fits(const update::VcpuX86Record& r) {
    return r.lapic_bytes == sizeof(Lapic) && r.run <= static_cast<u32>(VcpuRun::Stopped) &&
           r.timer_armed <= 1 && r.apic_off <= 1 && r.nmi_blocked <= 1 && r.nmi_iret <= 1 &&
           r.sipi_vector <= 0xff;
}

void vcpu_from_record(Vcpu& v, const update::VcpuX86Record& r) {
    GuestRegs& g = v.regs;
    g.rax = r.rax, g.rbx = r.rbx, g.rcx = r.rcx, g.rdx = r.rdx;
    g.rsi = r.rsi, g.rdi = r.rdi, g.rbp = r.rbp;
    g.r8 = r.r8, g.r9 = r.r9, g.r10 = r.r10, g.r11 = r.r11;
    g.r12 = r.r12, g.r13 = r.r13, g.r14 = r.r14, g.r15 = r.r15;
    v.run = r.run;
    v.pat = r.pat, v.xcr0 = r.xcr0;
    v.nmi_blocked = r.nmi_blocked != 0, v.nmi_iret = r.nmi_iret != 0;
    v.nmi_pending = r.nmi_pending;
    v.timer_deadline = r.timer_deadline;
    v.timer_armed = r.timer_armed != 0;
    v.sipi_vector = static_cast<u8>(r.sipi_vector);
    v.apic_off = r.apic_off != 0;
    memcpy(&v.apic, r.lapic, sizeof v.apic);
}

void devices_from_record(VmContext& c, const update::X86DevicesRecord& d) {
    memcpy(&c.uart, d.uart, sizeof c.uart);
    memcpy(&c.ioapic, d.ioapic, sizeof c.ioapic);
    memcpy(&c.pit, d.pit, sizeof c.pit);
    memcpy(&c.rtc, d.rtc, sizeof c.rtc);
    memcpy(c.rx_queue, d.rx_queue, sizeof c.rx_queue);
    c.rx_head = d.rx_head, c.rx_count = d.rx_count;
    c.rx_waiting = d.rx_count != 0;
    c.pending_input = nullptr; // a definition's input is the outgoing image's: fed already
}

// Each of the VM's vCPU records by index, each index once, each on its own core.
Status vcpus_by_index(const Vm& vm, const update::HandoverView& r, u32 vcpus,
                      const update::VcpuX86Record** by) {
    for (u32 i = 0; i < r.x86_vcpu_count; ++i) {
        const update::VcpuX86Record& v = *r.x86_vcpus[i];
        if (v.vm_id != vm.id) continue;
        if (v.index >= vcpus || by[v.index] != nullptr ||
            v.core != core_of_vcpu(vm.cpu_mask, v.index))
            return Status::InvalidArgument;
        if (!vcpu_fits(v)) return Status::Unsupported; // another layout
        by[v.index] = &v;
    }
    for (u32 i = 0; i < vcpus; ++i)
        if (by[i] == nullptr) return Status::InvalidArgument;
    return Status::Ok;
}

} // namespace
} // namespace keel::virt

namespace keel::arch {

Status vm_adopt(Vm& vm, const update::HandoverView& r) {
    using namespace virt;
    u32 at = r.vm_count;
    for (u32 i = 0; i < r.vm_count; ++i)
        if (r.vms[i]->id == vm.id) at = i;
    if (at == r.vm_count) return Status::NotFound;
    // An arm64 VM's records are not this arch's; a VT-x vCPU is never recorded.
    if (r.x86_devices[at] == nullptr || backend() != Backend::Svm) return Status::Unsupported;
    const update::VmRecord& rec = *r.vms[at];
    const update::Stage2Record& s2 = *r.stage2[at];
    const u32 vcpus = static_cast<u32>(__builtin_popcountll(vm.cpu_mask));
    if (vcpus == 0 || vcpus > kMaxVcpus || rec.vcpu_count != vcpus ||
        (vm.cpu_mask >> x86::kMaxCpus) != 0)
        return Status::OutOfRange;
    // This image's guest memory maps: a raw guest's RAM at kRawRamBase, a Linux guest's at 0.
    if (s2.ipa_base != kRawRamBase && s2.ipa_base != 0) return Status::InvalidArgument;
    if (!devices_fit(*r.x86_devices[at])) return Status::Unsupported;
    const update::VcpuX86Record* by[kMaxVcpus] = {};
    KEEL_TRY(vcpus_by_index(vm, r, vcpus, by));

    VmContext& c = vm.arch;
    c.tables.attach(vm_table_pool());
    KEEL_TRY(c.npt.adopt(PhysAddr(s2.root)));
    // Its table pages become this image's, where they are: each one exactly once.
    bool pages_ok = true;
    c.npt.for_each_table([&](PhysAddr page) {
        const bool mine = vm_table_pool().adopt(page);
        if (mine) c.tables.count_adopted();
        pages_ok &= mine;
    });
    if (!pages_ok) return Status::Corrupt;
    // All of its RAM mapped, each 2 MiB to its own RAM (the NPT maps it whole at creation);
    // a multi-vCPU raw guest's low 2 MiB alias its first 2 MiB.
    for (u64 off = 0; off < vm.mem_size; off += 2 * MiB) {
        const auto t = c.npt.translate(GuestPhys(s2.ipa_base + off));
        if (!t.ok() || t.value().pa.raw() != vm.mem_base.raw() + off) return Status::Corrupt;
    }
    const auto low = c.npt.translate(GuestPhys(0));
    c.ram_base = s2.ipa_base;
    c.low_alias = s2.ipa_base != 0 && low.ok();
    if (c.low_alias && low.value().pa.raw() != vm.mem_base.raw()) return Status::Corrupt;
    c.stage2 = s2.root; // the nested CR3 (APM Vol. 2 15.25.4): the NPT's PML4, write-back
    c.boot = BootState{};
    memset(c.scratch, 0, sizeof c.scratch);
    devices_from_record(c, *r.x86_devices[at]);
    memset(c.vcpu, 0, sizeof c.vcpu);
    u32 live = 0, inside = 0;
    for (u32 i = 0; i < kMaxVcpus; ++i) {
        Vcpu& v = c.vcpu[i];
        v.index = i;
        vcpu_apic_reset(v);
        if (i >= vcpus) continue;
        vcpu_from_record(v, *by[i]);
        const auto run = static_cast<VcpuRun>(by[i]->run);
        live += run == VcpuRun::Starting || run == VcpuRun::Running;
        // A vCPU that ran has its guest state in a control page; one that did not gets it
        // from its SIPI as before (setup at its first entry).
        if (run == VcpuRun::Running || run == VcpuRun::Stopped)
            KEEL_TRY(backend_ops().adopt_vcpu(vm, v, *by[i]));
        v.adopted = run == VcpuRun::Running;
        // Its core is inside the VM's run (vcpu_run.cpp) unless the vCPU stopped: where that
        // core finds it again if this image stays (smp.cpp x86_adopted_ap_main).
        if (run != VcpuRun::Stopped) {
            ++inside;
            __atomic_store_n(&x86::cpu(by[i]->core).work, &vm, __ATOMIC_RELEASE);
        }
    }
    c.vcpus = vcpus;
    c.cores_active = inside;
    c.live = live;
    c.stop = c.faulted = c.forced = c.reset = c.stage2_gen = 0;
    vm.stage2_tables = static_cast<u32>(c.tables.tables_in_use());
    return Status::Ok;
}

} // namespace keel::arch
