// What VMX and SVM exits have in common, written once (issue 12): the CPUID filter, the
// MSR allow-list, COM1, XSETBV validation, the Keel hypercalls, HLT with the one-shot
// timer, and MMIO emulation of the scratch device with the Zydis decoder. The backends
// (vmx/exits.cpp, svm/exits.cpp) decode their exit, fill a GuestView from their VMCS or
// VMCB, call these, and write back what changed (RIP, RSP, EFER) and any event.
#pragma once

#include "../x86.hpp"
#include "hypervisor/vm/vm.hpp"
#include "mmio_decode.hpp"
#include "vm_context.hpp"

namespace keel::virt {

// The guest CPU state the shared handlers read, and the fields they may change (rip,
// rsp, efer). `efer` is the value the guest sees (SVM hides EFER.SVME).
struct GuestView {
    u64 rip, rsp, rflags, cr0, cr3, cs_base, efer;
    CpuMode mode;
};

inline constexpr u64 kRflagsIf = 1ull << 9, kRflagsDf = 1ull << 10;
inline constexpr u64 kCr0Pe = 1ull << 0, kCr0Pg = 1ull << 31;

// Architectural GPR number (0 RAX .. 4 RSP .. 15 R15).
u64 read_gpr(const GuestRegs& r, const GuestView& g, u8 n);
void write_gpr(GuestRegs& r, GuestView& g, u8 n, u64 value);

// MSRs the VMX MSR bitmap and the SVM MSR permission map let through without an exit:
// IA32_TSC reads; IA32_FS_BASE and IA32_GS_BASE (VMX switches them in the VMCS, SVM with
// VMSAVE/VMLOAD); and the guest's own SYSENTER_CS/ESP/EIP, STAR, LSTAR, CSTAR, SFMASK and
// KernelGsBase. SVM's VMLOAD/VMSAVE switch all of those (APM Vol. 2 15.5.2); VMX switches
// the SYSENTER three (SDM Vol. 3C 27.3.1.1, 28.3.2, 28.5.1) and leaves the five SYSCALL/SWAPGS
// MSRs in the core, which is the VM's: the hypervisor never executes SYSCALL or SWAPGS, and
// core_reset_for_vcpu zeroes them (their reset value, SDM Vol. 3A 10.1.1 table 10-1) before a
// vCPU's first entry. Everything else exits to msr_exit.
struct PassThroughMsr {
    u32 msr;
    bool write;
};
inline constexpr PassThroughMsr kPassThroughMsrs[] = {
    {0x10, false},      {0xc0000100, false}, {0xc0000100, true}, {0xc0000101, false},
    {0xc0000101, true}, {0x174, false},      {0x174, true},      {0x175, false},
    {0x175, true},      {0x176, false},      {0x176, true},      {0xc0000081, false},
    {0xc0000081, true}, {0xc0000082, false}, {0xc0000082, true}, {0xc0000083, false},
    {0xc0000083, true}, {0xc0000084, false}, {0xc0000084, true}, {0xc0000102, false},
    {0xc0000102, true},
};
// The SYSCALL/SWAPGS MSRs VMX leaves in the core: STAR, LSTAR, CSTAR, SFMASK, KernelGsBase.
inline constexpr u32 kCoreHeldMsrs[] = {0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102};

// CPUID as the VM sees it (cpuid_policy.cpp); cpuid_exit puts it in RAX..RDX, with what
// follows the vCPU's own state (guest_rules.hpp: OSXSAVE/OSPKE from its CR4, the compacted
// XSAVE size from its XCR0).
x86::CpuidRegs filtered_cpuid(const Vm& vm, u32 index, u32 leaf, u32 sub);
void cpuid_exit(const Vm& vm, Vcpu& v, u64 guest_cr4);
// RDMSR/WRMSR of ECX (msr_policy.cpp): false = refused (the caller injects #GP, RIP
// stays); true = done (RDMSR's value in EDX:EAX; the caller advances RIP).
bool msr_exit(Vm& vm, Vcpu& v, bool write, GuestView& g);
// A guest's MOV to CR4 of `value`: false = refused (#GP), as on a CPU without VMX or SMX
// (CR4.VMXE, CR4.SMXE) and for the reserved bits 63:32 (SDM Vol. 3A 2.5).
bool cr4_write_allowed(const Vm& vm, u64 value);
// XSETBV of EDX:EAX into XCR(ECX): false = invalid (#GP); true = written to the core.
bool xsetbv_exit(Vm& vm, Vcpu& v);
// One non-string IN/OUT of `size` bytes at `port` (devices.cpp): COM1, the PIT's channel 2,
// the ACPI sleep and reset registers (PowerOff, Reset) and an empty ISA bus. Resume: the
// caller advances RIP.
ExitAction io_exit(Vm& vm, Vcpu& v, bool in, u16 port, u8 size);
// The VM's devices as at power-on, before its first vCPU runs (vm_prepare).
void devices_reset(Vm& vm);
// Console input for COM1 (any core): the bytes queued.
usize console_push(Vm& vm, const char* data, usize len);
// Moves queued console input into COM1 (and raises its interrupt) when it can take it.
void poll_console_input(Vm& vm);
// VMCALL / VMMCALL with the hypercall number in EAX. Resume: the caller advances RIP.
ExitAction hypercall_exit(Vm& vm, Vcpu& v);
// HLT. Resume: the caller advances RIP and clears the interrupt shadow; with v.timer_fired
// (the test guests' one-shot timer) it injects kTimerVector, else the next entry injects
// what woke the vCPU. Otherwise the vCPU or VM ends (nothing can wake it).
ExitAction hlt_exit(Vm& vm, Vcpu& v, bool interrupts);
// A second-stage fault: where, which access, and its name in reports ("EPT violation",
// "nested page fault").
struct SecondStageFault {
    u64 gpa;
    bool fetch, write;
    const char* name;
};
// A second-stage fault outside RAM: emulates the scratch device's access by
// decoding the instruction at g.rip (g.rip and GPRs updated), or stops the VM with a
// report. `report` prints the backend's guest state.
ExitAction mmio_exit(Vm& vm, Vcpu& v, GuestView& g, const SecondStageFault& f,
                     void (*report)(const Vm&, const Vcpu&, const char*));
// The virtual local APIC's MSRs (x2APIC mode, vapic.cpp): IA32_APIC_BASE reads, ID,
// version, EOI, and ICR writes that deliver INIT and SIPI to the VM's other vCPUs.
MsrResult vapic_msr(Vm& vm, Vcpu& v, u32 msr, bool write, u64 value, u64* out);
// A 32-bit access to the xAPIC page (kLapicBase) while the vCPU's APIC is in xAPIC mode;
// false if it is not (the access then faults like any other outside RAM).
bool xapic_access(Vm& vm, Vcpu& v, bool write, u64 offset, u32* value);
// The local APIC at power-on (its id = the vCPU index).
void vcpu_apic_reset(Vcpu& v);
// An I/O APIC route to the VM's own vCPUs (dev_lock held or not: IRR bits are atomic).
void deliver_route(Vm& vm, const IoapicRoute& r);
// Brings the vCPU's timer and console input up to date: true if an NMI or an interrupt
// above its priority waits.
bool interrupt_waiting(Vm& vm, Vcpu& v);
// What the next entry injects: an NMI when `nmi_ok` (the guest is not blocking NMIs;
// one that is stays pending), the highest deliverable interrupt (moved to the ISR) when
// the guest can take it (`interruptible`: RFLAGS.IF and no STI/MOV SS shadow), else
// Window (the backend asks for an exit once it can), or nothing.
enum class InjectKind : u8 { None, Nmi, Interrupt, Window };
struct Injection {
    InjectKind kind;
    u8 vector;
};
Injection next_injection(Vm& vm, Vcpu& v, bool interruptible, bool nmi_ok);
// Arms this core's kick (apic.hpp) before an entry: at the vCPU's next APIC timer
// deadline, and at least every kKickPeriodMs, so a guest that never exits still gets its
// timer, IPIs and console input, and sees a stop. Both backends, every entry.
inline constexpr u64 kKickPeriodMs = 2;
void arm_kick(const Vcpu& v);
// Just before an entry: marks the vCPU in the guest and says whether a second-stage mapping
// went since its last entry, so that this entry must flush the VM's cached translations
// (SVM: TLB_CONTROL for its ASID; VMX: INVEPT). left_guest, just after the exit
// (vm_arch.cpp's vm_unmap_device waits on both).
[[nodiscard]] bool enter_guest(VmContext& s, Vcpu& v);
void left_guest(Vcpu& v);
// Up to 15 instruction bytes at CS base + g.rip through the guest's paging; the count.
Result<usize> fetch_insn(const Vm& vm, const GuestView& g, u8* out);

} // namespace keel::virt
