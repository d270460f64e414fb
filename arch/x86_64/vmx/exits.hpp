// Exit handlers of partition VMs (exits.cpp, mmio.cpp), called by vcpu_run.cpp's loop
// with the VM's VMCS current. Each decodes its exit once into a value type
// (decode.hpp, mmio_decode.hpp) and says whether the VM goes on.
#pragma once

#include "decode.hpp"
#include "hypervisor/vm/vm.hpp"
#include "vcpu.hpp"

namespace keel::vmx {

// PowerOff and Fault end the whole VM; VcpuOff stops only this vCPU (the VM ends when
// its last started vCPU has stopped).
enum class ExitAction : u8 { Resume, PowerOff, Fault, VcpuOff };
enum class MsrResult : u8 { NotMine, Done, Refused };

ExitAction handle_exit(Vm& vm, Vcpu& v, ExitReasonField why);
// Arms entry.S's fast path for this vCPU (vm_state.hpp): its CPUID leaf 0 from the same
// filter handle_exit applies, the VM's stop flag and hypercall counter.
void fast_path_setup(Vm& vm, Vcpu& v);
ExitAction handle_ept_violation(Vm& vm, Vcpu& v);
// The virtual local APIC's MSRs (x2APIC mode, vapic.cpp): IA32_APIC_BASE reads, ID,
// version, EOI, and ICR writes that deliver INIT and SIPI to the VM's other vCPUs.
MsrResult vapic_msr(Vm& vm, Vcpu& v, u32 msr, bool write, u64 value, u64* out);

// Helpers shared by the handlers.
void advance_rip();
void inject(EntryEvent e);
void inject_gp();
// Architectural GPR number (0 RAX .. 4 RSP .. 15 R15): GuestRegs or, for RSP, the VMCS.
u64 read_gpr(const GuestRegs& r, u8 n);
void write_gpr(GuestRegs& r, u8 n, u64 value);
// Prints the guest state for a VM that is stopped because of `what`.
void report_guest_state(const Vm& vm, const Vcpu& v, const char* what);

} // namespace keel::vmx
