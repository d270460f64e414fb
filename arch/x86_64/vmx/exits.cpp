// Exit handlers for partition VMs: decode once, switch on the reason (SDM Vol. 3C 26.1
// and 28.2 for what exits and what the VMCS reports). Instruction exits advance RIP by
// the VM-exit instruction length (25.9.4); faults are injected with RIP unchanged.
#include "exits.hpp"

#include "hypervisor/print.hpp"
#include "msr.hpp"
#include "vmcs.hpp"

namespace keel::vmx {
namespace {

using ull = unsigned long long;

constexpr u32 kSigKeel = 0x6c65654b; // "Keel": leaf 0x40000000 EBX, ECX, EDX
constexpr u32 kMsrMiscEnable = 0x1a0, kMsrEfer = 0xc0000080;
constexpr u64 kEferWritable = (1ull << 0) | (1ull << 8) | (1ull << 11); // SCE, LME, NXE
constexpr u64 kCr4Vmxe = 1ull << 13, kCr0Ne = 1ull << 5;
constexpr u64 kRflagsIf = 1ull << 9;

// CPUID as the VM sees it (SDM Vol. 2A CPUID): no VMX/SMX (leaf 1 ECX 5, 6) or SVM
// (0x80000001 ECX 2), the hypervisor bit (leaf 1 ECX 31), Keel's leaf 0x40000000, and a
// topology of one package whose logical processors are the VM's own vCPUs with
// initial APIC ids 0..n-1 (leaf 1 EBX 23:16 and 31:24, leaf 4 EAX 31:26, leaf 0xB with
// the x2APIC id in EDX), and x2APIC (leaf 1 ECX 21): the virtual APIC is an x2APIC.
x86::CpuidRegs filtered_cpuid(const Vm& vm, u32 index, u32 leaf, u32 sub) {
    const u32 cores = static_cast<u32>(__builtin_popcountll(vm.cpu_mask));
    if (leaf >= 0x40000000 && leaf < 0x50000000)
        return leaf == 0x40000000 ? x86::CpuidRegs{0x40000000, kSigKeel, kSigKeel, kSigKeel}
                                  : x86::CpuidRegs{};
    x86::CpuidRegs v = x86::cpuid(leaf, sub);
    switch (leaf) {
    case 1:
        v.ecx = (v.ecx & ~(kCpuid1EcxVmx | (1u << 6))) | kCpuid1EcxHypervisor | kCpuid1EcxX2apic;
        v.ebx = (v.ebx & 0xffff) | (cores << 16) | (index << 24);
        break;
    case 4: v.eax = (v.eax & 0x03ffffffu) | ((cores - 1) << 26); break;
    case 0xb:
        v = sub == 0   ? x86::CpuidRegs{0, 1, (1u << 8) | sub, index}
            : sub == 1 ? x86::CpuidRegs{static_cast<u32>(32 - __builtin_clz(cores)), cores,
                                        (2u << 8) | sub, index}
                       : x86::CpuidRegs{0, 0, sub, index};
        break;
    case 0x80000001: v.ecx &= ~(1u << 2); break;
    default: break;
    }
    return v;
}

void handle_cpuid(const Vm& vm, Vcpu& c) {
    GuestRegs& r = c.regs;
    const x86::CpuidRegs v =
        filtered_cpuid(vm, c.index, static_cast<u32>(r.rax), static_cast<u32>(r.rcx));
    r.rax = v.eax, r.rbx = v.ebx, r.rcx = v.ecx, r.rdx = v.edx;
    advance_rip();
}

// PAT entries must be valid memory types: 0, 1, 4, 5, 6, 7 (SDM Vol. 3A 13.12.2).
bool pat_valid(u64 v) {
    for (int i = 0; i < 8; ++i) {
        const u64 t = (v >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7) return false;
    }
    return true;
}

// The MSR allow-list beyond the bitmap's pass-through: emulated IA32_PAT, IA32_EFER
// (the VMCS copy; SCE/NXE writable, LME only while CR0.PG is 0: SDM Vol. 3A 10.8.5),
// IA32_MISC_ENABLE reads, the x2APIC (vapic.cpp). Anything else: #GP.
void handle_msr(Vm& vm, Vcpu& v, bool write) {
    GuestRegs& r = v.regs;
    const u32 msr = static_cast<u32>(r.rcx);
    const u64 value = (r.rdx << 32) | (r.rax & 0xffffffff);
    bool ok = true;
    u64 out = 0;
    if (msr == kMsrIa32Pat) {
        if (write)
            ok = pat_valid(value) && (v.pat = value, true);
        else
            out = v.pat;
    } else if (msr == kMsrEfer) {
        const u64 efer = vmread(VmcsField64::GuestIa32Efer);
        const bool paging = vmread(VmcsFieldNatural::GuestCr0) & (1ull << 31);
        if (write)
            ok = (value & ~kEferWritable) == 0 &&
                 (!paging || (value & (1ull << 8)) == (efer & (1ull << 8)));
        if (write && ok) vmwrite(VmcsField64::GuestIa32Efer, (efer & ~kEferWritable) | value);
        out = efer;
    } else if (msr == kMsrMiscEnable && !write) {
        out = 1; // fast strings
    } else {
        ok = vapic_msr(vm, v, msr, write, value, &out) == MsrResult::Done;
    }
    if (!ok) {
        kprint("vm %u: %s %#x refused -> injecting #GP\n", vm.id, write ? "wrmsr" : "rdmsr", msr);
        inject_gp();
        return;
    }
    if (!write) r.rax = out & 0xffffffff, r.rdx = out >> 32;
    advance_rip();
}

// COM1 as a 16550 that is always ready: THR writes are the console (one line per
// "[vm N]" print), LSR reads THRE|TEMT. Other COM1 registers read 0; every other port
// reads all-ones and ignores writes (an empty ISA bus). String I/O stops the VM.
ExitAction handle_io(Vm& vm, Vcpu& v) {
    const IoQualification q = decode_io_qualification(vmread(VmcsFieldNatural::ExitQualification));
    if (q.string) {
        report_guest_state(vm, v, "string I/O (INS/OUTS) is not emulated");
        return ExitAction::Fault;
    }
    GuestRegs& r = v.regs;
    if (!q.in && q.port == 0x3f8) {
        GuestConsole& c = v.console;
        const char ch = static_cast<char>(r.rax & 0xff);
        if (ch != '\n' && c.len < sizeof c.line - 1) {
            c.line[c.len++] = ch;
        } else {
            c.line[c.len] = '\0';
            kprint("[vm %u] %s\n", vm.id, c.line);
            __atomic_fetch_add(&vm.stats.console_lines, 1u, __ATOMIC_RELAXED);
            c.len = 0;
        }
    } else if (q.in) {
        const u64 val = q.port == 0x3fd ? 0x60 : (q.port >= 0x3f8 && q.port <= 0x3ff) ? 0 : ~0ull;
        const u64 mask = q.size == 4 ? 0xffffffffull : (1ull << (8 * q.size)) - 1;
        r.rax = q.size == 4 ? (val & mask) : (r.rax & ~mask) | (val & mask);
    }
    advance_rip();
    return ExitAction::Resume;
}

// MOV to CR0/CR4 of a bit the guest/host masks own (25.6.6: CR0.NE, CR4.VMXE). The
// guest may not enable VMX (#GP, as on a CPU without it); CR0.NE stays 1 underneath.
ExitAction handle_cr(Vm& vm, Vcpu& v) {
    const CrQualification q = decode_cr_qualification(vmread(VmcsFieldNatural::ExitQualification));
    if (q.type != CrAccessType::MovToCr || (q.cr != 0 && q.cr != 4)) {
        report_guest_state(vm, v, "unexpected control-register access");
        return ExitAction::Fault;
    }
    const u64 value = read_gpr(v.regs, q.gpr);
    if (q.cr == 4) {
        if (value & kCr4Vmxe) {
            kprint("vm %u: mov cr4 with VMXE -> injecting #GP\n", vm.id);
            inject_gp();
            return ExitAction::Resume;
        }
        vmwrite(VmcsFieldNatural::GuestCr4, value | kCr4Vmxe);
        vmwrite(VmcsFieldNatural::Cr4ReadShadow, value);
    } else {
        vmwrite(VmcsFieldNatural::GuestCr0, value | kCr0Ne);
        vmwrite(VmcsFieldNatural::Cr0ReadShadow, value);
    }
    advance_rip();
    return ExitAction::Resume;
}

void handle_xsetbv(Vm& vm, Vcpu& v) {
    GuestRegs& r = v.regs;
    const u32 xcr = static_cast<u32>(r.rcx);
    const u64 value = (r.rdx << 32) | (r.rax & 0xffffffff);
    const x86::CpuidRegs d = x86::cpuid(0xd, 0);
    if (!xsetbv_valid(xcr, value, (static_cast<u64>(d.edx) << 32) | d.eax)) {
        kprint("vm %u: xsetbv xcr%u = %#llx invalid -> injecting #GP\n", vm.id, xcr,
               static_cast<ull>(value));
        inject_gp();
        return;
    }
    asm volatile("xsetbv" ::"c"(0u), "a"(static_cast<u32>(value)),
                 "d"(static_cast<u32>(value >> 32)));
    v.xcr0 = value;
    advance_rip();
}

// HLT: with the one-shot timer armed and interrupts enabled, wait (this core is the
// VM's own) until the deadline and inject the timer vector after the HLT. Otherwise
// nothing could ever wake the vCPU (no IPIs but INIT/SIPI yet): it stops, and with it
// the VM if it was the only vCPU.
ExitAction handle_hlt(Vm& vm, Vcpu& v) {
    const bool interrupts = vmread(VmcsFieldNatural::GuestRflags) & kRflagsIf;
    if (!v.timer_armed || !interrupts) {
        const char* why = interrupts ? "no timer armed" : "interrupts disabled";
        if (vm.arch.vcpus > 1) {
            kprint("vm %u: vcpu %u: HLT with %s: nothing can wake it, vcpu stopped\n", vm.id,
                   v.index, why);
            return ExitAction::VcpuOff;
        }
        kprint("vm %u: HLT with %s: nothing can wake it, stopping the VM\n", vm.id, why);
        return ExitAction::PowerOff;
    }
    // Waiting for a deadline the guest chose: a VM-wide stop (another vCPU's power-off or
    // fault, the controller) ends the wait at once (issue 10 item 12).
    while (static_cast<i64>(__builtin_ia32_rdtsc() - v.timer_deadline) < 0) {
        if (__atomic_load_n(&vm.arch.stop, __ATOMIC_ACQUIRE)) return ExitAction::VcpuOff;
        asm volatile("pause");
    }
    v.timer_armed = false;
    advance_rip();
    vmwrite(VmcsField32::GuestInterruptibilityState, 0); // HLT right after STI: no shadow now
    inject(EntryEvent{kTimerVector, EventType::ExternalInterrupt, false});
    return ExitAction::Resume;
}

ExitAction handle_vmcall(Vm& vm, Vcpu& v) {
    GuestRegs& r = v.regs;
    __atomic_fetch_add(&vm.stats.hypercalls, 1u, __ATOMIC_RELAXED);
    switch (static_cast<Hypercall>(r.rax & 0xffffffff)) {
    case Hypercall::Null: r.rax = 0; break;
    case Hypercall::Echo: r.rax = r.rbx + 1; break;
    case Hypercall::TimerOneShot:
        v.timer_deadline = __builtin_ia32_rdtsc() + r.rbx;
        v.timer_armed = true;
        r.rax = 0;
        break;
    case Hypercall::PowerOff:
        kprint("vm %u: guest power-off hypercall\n", vm.id);
        return ExitAction::PowerOff;
    default: r.rax = ~0ull; break;
    }
    advance_rip();
    return ExitAction::Resume;
}

} // namespace

// entry.S's constants (it cannot include C++ headers).
static_assert(static_cast<u32>(VmcsField32::ExitReason) == 0x4402 &&
              static_cast<u32>(VmcsField32::ExitInstructionLength) == 0x440c &&
              static_cast<u32>(VmcsFieldNatural::GuestRip) == 0x681e);
static_assert(static_cast<u32>(ExitReason::Cpuid) == 10 &&
              static_cast<u32>(ExitReason::Vmcall) == 18 && static_cast<u32>(Hypercall::Null) == 0);

void fast_path_setup(Vm& vm, Vcpu& v) {
    GuestRegs& r = v.regs;
    const x86::CpuidRegs l0 = filtered_cpuid(vm, v.index, 0, 0); // leaf 0 ignores ECX
    r.cpuid0[0] = l0.eax, r.cpuid0[1] = l0.ebx, r.cpuid0[2] = l0.ecx, r.cpuid0[3] = l0.edx;
    r.fast_hypercalls = &vm.stats.hypercalls;
    r.fast_stop = &vm.arch.stop;
}

ExitAction handle_exit(Vm& vm, Vcpu& v, ExitReasonField why) {
    switch (why.basic) {
    case ExitReason::Cpuid: handle_cpuid(vm, v); return ExitAction::Resume;
    case ExitReason::Rdmsr: handle_msr(vm, v, false); return ExitAction::Resume;
    case ExitReason::Wrmsr: handle_msr(vm, v, true); return ExitAction::Resume;
    case ExitReason::IoInstruction: return handle_io(vm, v);
    case ExitReason::CrAccess: return handle_cr(vm, v);
    case ExitReason::Xsetbv: handle_xsetbv(vm, v); return ExitAction::Resume;
    case ExitReason::Hlt: return handle_hlt(vm, v);
    case ExitReason::Vmcall: return handle_vmcall(vm, v);
    case ExitReason::EptViolation: return handle_ept_violation(vm, v);
    case ExitReason::ExceptionOrNmi: return ExitAction::Resume; // a host NMI: nothing to do yet
    case ExitReason::PreemptionTimer:
        return ExitAction::Resume; // the run loop checks for a VM stop
    case ExitReason::ExternalInterrupt:
        // This core's host runs with interrupts off and owns no device: nothing to
        // acknowledge. Give up if one stays asserted (it would livelock the core).
        if (++v.external_interrupts < 100000) return ExitAction::Resume;
        report_guest_state(vm, v, "an external interrupt stays pending");
        return ExitAction::Fault;
    case ExitReason::TripleFault:
        report_guest_state(vm, v, "triple fault (shutdown)");
        return ExitAction::Fault;
    case ExitReason::EptMisconfig:
        report_guest_state(vm, v, "EPT misconfiguration (a hypervisor bug)");
        return ExitAction::Fault;
    default: break;
    }
    kprint("vm %u: exit reason %u (%s) not handled\n", vm.id, static_cast<u32>(why.basic),
           exit_reason_name(why.basic));
    report_guest_state(vm, v, "unhandled exit");
    return ExitAction::Fault;
}

} // namespace keel::vmx
