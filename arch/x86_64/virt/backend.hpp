// The two hardware backends behind the shared x86 VM code, chosen once at boot from
// CPUID (features.cpp: VMX with EPT, VPID and unrestricted guest, else SVM with NPT).
// Nothing above arch/x86_64 knows which one runs.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/update/handover.hpp"
#include "vm_context.hpp"

namespace keel::virt {

enum class Backend : u8 { None, Vmx, Svm };
Backend backend();
void set_backend(Backend b);
const char* backend_name(Backend b);
// Enters the backend's operation on this CPU (VMXON, or EFER.SVME + VM_HSAVE_PA) with
// the per-CPU regions of `slot`; prints only failures unless `report`.
Status enable_cpu(u32 slot, bool report);

// What each backend gives vcpu_run.cpp: the names of its second-stage root and TLB tag,
// the tag a vCPU runs with, its run (control page set-up, then the loop of entries and
// exits until something ends it), and its core's teardown (nothing of the VM stays
// cached on the core).
struct BackendOps {
    const char* stage2_name; // "EPTP", "nCR3"
    const char* tag_name;    // "VPID", "ASID"
    Status (*enable)(u32 slot, bool report);
    u32 (*tag)(const Vm& vm, const Vcpu& v);
    ExitAction (*run)(Vm& vm, Vcpu& v);
    void (*teardown)(const Vm& vm, Vcpu& v);
    // Live update (docs/handover.md §5.1): a parked vCPU's architectural state from its
    // control page into `r`, on the boot core. Unsupported where the control page is not
    // readable there (a VMCS is current on its own core only).
    Status (*describe_vcpu)(const Vm& vm, const Vcpu& v, update::VcpuX86Record& r);
    // An adopting image's control page for a vCPU that ran, from its record (the guest
    // state as recorded, this image's own controls). Corrupt for a state Keel never leaves
    // there; Unsupported as above.
    Status (*adopt_vcpu)(Vm& vm, Vcpu& v, const update::VcpuX86Record& r);
};
// The backend chosen at boot (vcpu_run.cpp).
const BackendOps& backend_ops();

} // namespace keel::virt

namespace keel::vmx {
extern const virt::BackendOps kBackend; // vmx/vcpu_run.cpp
}
namespace keel::svm {
extern const virt::BackendOps kBackend; // svm/vcpu_run.cpp
}
