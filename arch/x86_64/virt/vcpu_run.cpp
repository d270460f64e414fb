// A VM's vCPUs, one per core of `cpus:`, whichever backend runs them:
//
//   [vCPU n > 0: wait for the guest's SIPI (vapic.cpp)] -> core reset -> the backend's
//   run (control page, second stage, loop of entries and exits) -> the backend's core
//   teardown -> the last core out reports the end (the VM manager then destroys the
//   second stage and scrubs the memory)
#include "../handover_stay.hpp"
#include "../paging.hpp"
#include "../percpu.hpp"
#include "backend.hpp"
#include "core_reset.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm.hpp"
#include "quiesce.hpp"
#include <arch/smp.hpp>

namespace keel::virt {
namespace {

Backend g_backend = Backend::None;

// An AP's core waits here for its SIPI (or for the VM to end without one), and visits a
// live update's incoming image as an idle core does (quiesce.hpp).
bool wait_for_sipi(const VmContext& s, Vcpu& v) {
    u32 seen = 0;
    for (;;) {
        visit_while_idle(&seen);
        if (__atomic_load_n(&v.run, __ATOMIC_ACQUIRE) == static_cast<u32>(VcpuRun::Starting))
            return true;
        if (__atomic_load_n(&s.stop, __ATOMIC_ACQUIRE)) return false;
        asm volatile("pause");
    }
}

// Records how a started vCPU ended: a power-off or fault ends the VM; so does the
// last started vCPU stopping.
void vcpu_ended(VmContext& s, Vcpu& v, ExitAction a) {
    __atomic_store_n(&v.run, static_cast<u32>(VcpuRun::Stopped), __ATOMIC_RELEASE);
    if (a == ExitAction::Fault) __atomic_store_n(&s.faulted, 1u, __ATOMIC_RELEASE);
    if (a == ExitAction::Reset) __atomic_store_n(&s.reset, 1u, __ATOMIC_RELEASE);
    const bool last = __atomic_sub_fetch(&s.live, 1u, __ATOMIC_ACQ_REL) == 0;
    if (a != ExitAction::VcpuOff || last) __atomic_store_n(&s.stop, 1u, __ATOMIC_RELEASE);
}

} // namespace

Backend backend() { return g_backend; }
void set_backend(Backend b) { g_backend = b; }
const char* backend_name(Backend b) {
    return b == Backend::Vmx ? "VMX" : b == Backend::Svm ? "SVM" : "none";
}

namespace {

const BackendOps* ops() { return g_backend == Backend::Svm ? &svm::kBackend : &vmx::kBackend; }

void announce(const Vm& vm, const Vcpu& v, u32 core) {
    using ull = unsigned long long;
    const BackendOps& b = *ops();
    if (v.index == 0)
        kprint("vm %u: vcpu 0 on cpu %u: 64-bit entry at %#llx, %s %#llx, %s %u\n", vm.id, core,
               static_cast<ull>(vm.ram_ipa().raw()), b.stage2_name,
               static_cast<ull>(vm.arch.stage2), b.tag_name, b.tag(vm, v));
    else
        kprint("vm %u: vcpu %u on cpu %u: real-mode entry at %04x:0000, %s %u\n", vm.id, v.index,
               core, v.sipi_vector << 8, b.tag_name, b.tag(vm, v));
}

} // namespace

const BackendOps& backend_ops() { return *ops(); }

Status enable_cpu(u32 slot, bool report) {
    return g_backend == Backend::None ? Status::Unsupported : ops()->enable(slot, report);
}

void vcpu_run_until_stopped(Vm& vm) {
    VmContext& s = vm.arch;
    x86::tlb_catch_up();
    const u32 core = x86::this_cpu().index;
    Vcpu& v = s.vcpu[vcpu_index_on(vm.cpu_mask, core)];
    const BackendOps& b = *ops();
    // A vCPU a live update's incoming image adopted goes on as it parked (vm_adopt.cpp): its
    // core still holds its FP/SIMD state and XCR0, so no core reset.
    const bool adopted = v.adopted;
    if (v.index == 0 && !adopted) announce(vm, v, core);
    if (adopted || v.index == 0 || wait_for_sipi(s, v)) {
        if (v.index != 0 && !adopted) {
            announce(vm, v, core);
            __atomic_store_n(&v.run, static_cast<u32>(VcpuRun::Running), __ATOMIC_RELEASE);
        }
        if (adopted)
            x86::vcpu_resumed(vm.id);
        else
            core_reset_for_vcpu(vm.id); // nothing of the core's previous VM stays readable
        const ExitAction a = b.run(vm, v);
        vcpu_ended(s, v, a);
        b.teardown(vm, v);
        if (v.xcr0 > 1) asm volatile("xsetbv" ::"c"(0u), "a"(1u), "d"(0u)); // XCR0 as at boot
    }
    if (__atomic_sub_fetch(&s.cores_active, 1u, __ATOMIC_ACQ_REL) != 0) return;
    // The last core out: no vCPU runs any more (each core dropped its own cached
    // translations); the manager destroys the second stage and frees the memory.
    vm.report_end(__atomic_load_n(&s.faulted, __ATOMIC_ACQUIRE)  ? VmEnd::Fault
                  : __atomic_load_n(&s.forced, __ATOMIC_ACQUIRE) ? VmEnd::ControllerStop
                  : __atomic_load_n(&s.reset, __ATOMIC_ACQUIRE)  ? VmEnd::GuestReset
                                                                 : VmEnd::GuestPowerOff);
    arch::send_event();
}

} // namespace keel::virt
