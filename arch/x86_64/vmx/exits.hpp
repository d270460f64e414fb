// Exit handlers of partition VMs (exits.cpp; the shared policies in virt/exit_policy.hpp), called
// by vcpu_run.cpp's loop with the VM's VMCS current. Each decodes its exit once into a value type
// (decode.hpp, mmio_decode.hpp) and says whether the VM goes on.
#pragma once

#include "../virt/exit_policy.hpp"
#include "decode.hpp"
#include "hypervisor/vm/vm.hpp"
#include "vcpu.hpp"

namespace keel::vmx {

ExitAction handle_exit(Vm& vm, Vcpu& v, ExitReasonField why);
// Arms entry.S's fast path for this vCPU (vm_state.hpp): its CPUID leaf 0 from the same
// filter handle_exit applies, the VM's stop flag and hypercall counter.
void fast_path_setup(Vm& vm, Vcpu& v);
// The shared handlers' view of the guest (virt/exit_policy.hpp) from the current VMCS,
// and back (RIP, RSP, EFER).
GuestView guest_view();
void store_guest_view(const GuestView& g);

// Helpers shared by the handlers.
void advance_rip();
void inject(EntryEvent e);
void inject_gp();
// Prints the guest state for a VM that is stopped because of `what`.
void report_guest_state(const Vm& vm, const Vcpu& v, const char* what);

} // namespace keel::vmx
