// An x86 VM in the handover record (docs/handover.md §2.2 Vm, Stage2, X86Devices, VcpuX86;
// §5.1), written on the boot core while every running vCPU is parked (quiesce.hpp): what
// the backend keeps in its control pages comes from its describe_vcpu, the rest from the
// VM's context, the same for both backends.
#include "handover_vm.hpp"

#include <string.h>

#include "backend.hpp"
#include "hypervisor/update/describe_pool.hpp"
#include "hypervisor/vm/vm.hpp"

namespace keel::virt {
namespace {

template <class T>
u32 copy_state(u8* to, usize room, const T& from) {
    static_assert(sizeof(T) <= 256, "docs/handover.md §2.2: the record's field holds it");
    if (sizeof(T) > room) return 0;
    memcpy(to, &from, sizeof(T));
    return static_cast<u32>(sizeof(T));
}

} // namespace

Status vcpu_x86_record(const Vm& vm, const Vcpu& v, update::VcpuX86Record& r) {
    r = update::VcpuX86Record{};
    r.vm_id = vm.id;
    r.index = v.index;
    r.core = core_of_vcpu(vm.cpu_mask, v.index);
    r.run = __atomic_load_n(&v.run, __ATOMIC_ACQUIRE);
    // A vCPU that never ran has no control page state yet: its run state says so.
    if (r.run == static_cast<u32>(VcpuRun::Running) || r.run == static_cast<u32>(VcpuRun::Stopped))
        KEEL_TRY(backend_ops().describe_vcpu(vm, v, r));
    const GuestRegs& g = v.regs;
    r.rax = g.rax, r.rbx = g.rbx, r.rcx = g.rcx, r.rdx = g.rdx;
    r.rsi = g.rsi, r.rdi = g.rdi, r.rbp = g.rbp;
    r.r8 = g.r8, r.r9 = g.r9, r.r10 = g.r10, r.r11 = g.r11;
    r.r12 = g.r12, r.r13 = g.r13, r.r14 = g.r14, r.r15 = g.r15;
    r.pat = v.pat, r.xcr0 = v.xcr0;
    r.nmi_blocked = v.nmi_blocked, r.nmi_iret = v.nmi_iret;
    r.nmi_pending = __atomic_load_n(&v.nmi_pending, __ATOMIC_ACQUIRE);
    r.timer_deadline = v.timer_deadline;
    r.timer_armed = v.timer_armed;
    r.sipi_vector = v.sipi_vector;
    r.apic_off = v.apic_off;
    r.lapic_bytes = copy_state(r.lapic, sizeof r.lapic, v.apic);
    return Status::Ok;
}

void devices_x86_record(const Vm& vm, update::X86DevicesRecord& d) {
    d = update::X86DevicesRecord{};
    const VmContext& s = vm.arch;
    d.vm_id = vm.id;
    d.uart_bytes = copy_state(d.uart, sizeof d.uart, s.uart);
    d.ioapic_bytes = copy_state(d.ioapic, sizeof d.ioapic, s.ioapic);
    d.pit_bytes = copy_state(d.pit, sizeof d.pit, s.pit);
    d.rtc_bytes = copy_state(d.rtc, sizeof d.rtc, s.rtc);
    static_assert(sizeof s.rx_queue == sizeof d.rx_queue, "docs/handover.md §2.2 X86Devices");
    memcpy(d.rx_queue, s.rx_queue, sizeof d.rx_queue);
    d.rx_head = s.rx_head, d.rx_count = s.rx_count;
}

Status describe_vm(const Vm& vm, update::HandoverWriter& w) {
    const VmContext& s = vm.arch;
    KEEL_TRY(update::describe_vm_record(w, vm, s.vcpus));
    // The second stage as the hardware walks it: the EPTP (VMX) or nested CR3 (SVM), the
    // tag (VPID or ASID) of vCPU 0, the guest-physical base of its RAM.
    const update::Stage2Record s2{vm.id, backend_ops().tag(vm, s.vcpu[0]), s.stage2, 0,
                                  vm.ram_ipa().raw()};
    KEEL_TRY(w.add(update::RecordType::Stage2, s2));
    static update::X86DevicesRecord d; // off the boot core's stack
    devices_x86_record(vm, d);
    KEEL_TRY(w.add(update::RecordType::X86Devices, d));
    static update::VcpuX86Record r;
    for (u32 i = 0; i < s.vcpus; ++i) {
        KEEL_TRY(vcpu_x86_record(vm, s.vcpu[i], r));
        KEEL_TRY(w.add(update::RecordType::VcpuX86, r));
    }
    return Status::Ok;
}

} // namespace keel::virt
