// Exit handling for the test VM: decode once (decode.hpp), switch on the reason.
// Instruction-emulating exits advance RIP by the VM-exit instruction length (25.9.4).
#include "vm_exit.hpp"

#include "hypervisor/print.hpp"
#include "msr.hpp"
#include "vmcs.hpp"

namespace keel::vmx {
namespace {

using ull = unsigned long long;

// CPUID leaf 0x40000000: the hypervisor vendor leaf, "KeelKeelKeel" in EBX, ECX, EDX
// (the convention KVM and Xen use; leaves 0x40000000-0x4fffffff are reserved for it).
constexpr u32 kSigKeel = 0x6c65654b; // "Keel" little-endian
constexpr u32 kHypercallEcho = 1;    // VMCALL EAX=1: returns EBX + 1 in EAX
// The value the guest reads from IA32_PAT: its power-on default (SDM Vol. 3A 13.12.4).
constexpr u64 kGuestPat = 0x0007040600070406ull;

struct ExitCounts {
    u32 cpuid, io, vmcall, rdmsr, gp_injected, external;
};

struct Console {
    char line[128];
    u32 len;
    void put(u32 vm_id, char c) {
        if (c != '\n' && len < sizeof(line) - 1) {
            line[len++] = c;
            return;
        }
        line[len] = '\0';
        kprint("[vm %u] %s\n", vm_id, line);
        len = 0;
    }
};

void advance_rip() {
    vmwrite(VmcsFieldNatural::GuestRip,
            vmread(VmcsFieldNatural::GuestRip) + vmread(VmcsField32::ExitInstructionLength));
}

// #GP as a hardware exception (VM-entry interruption-information, 25.8.3, table 25-16).
// No error code: a real-mode guest (unrestricted, CR0.PE=0) must not get one (27.2.1.3).
void inject_gp() {
    constexpr u32 kVector = 13, kTypeHardwareException = 3u << 8, kValid = 1u << 31;
    vmwrite(VmcsField32::EntryInterruptionInfo, kVector | kTypeHardwareException | kValid);
}

void handle_cpuid(GuestRegs& r, u32 vm_id) {
    const u32 leaf = static_cast<u32>(r.rax);
    x86::CpuidRegs v{};
    if (leaf == 0x40000000) {
        v = {0x40000000, kSigKeel, kSigKeel, kSigKeel};
    } else if (leaf < 0x40000000 || leaf >= 0x80000000) {
        v = x86::cpuid(leaf, static_cast<u32>(r.rcx));
    }
    if (leaf == 1) {
        // No nested VMX for guests; tell them they run on a hypervisor.
        v.ecx = (v.ecx & ~kCpuid1EcxVmx) | kCpuid1EcxHypervisor;
        kprint("vm %u: cpuid 0x1 -> ecx %#x (VMX bit 5 cleared, hypervisor bit 31 set)\n", vm_id,
               v.ecx);
    } else if (leaf == 0x40000000) {
        kprint("vm %u: cpuid 0x40000000 -> max leaf %#x, signature \"KeelKeelKeel\"\n", vm_id,
               v.eax);
    }
    r.rax = v.eax, r.rbx = v.ebx, r.rcx = v.ecx, r.rdx = v.edx;
    advance_rip();
}

void handle_io(GuestRegs& r, u32 vm_id, Console& con) {
    const IoQualification q = decode_io_qualification(vmread(VmcsFieldNatural::ExitQualification));
    if (!q.string && !q.in && q.port == 0x3f8 && q.size == 1) {
        con.put(vm_id, static_cast<char>(r.rax & 0xff));
    } else if (!q.string && q.in) {
        // COM1 LSR (0x3fd): transmitter empty, so polling guests make progress. Else all ones.
        const u64 v = q.port == 0x3fd ? 0x60 : 0xffffffff;
        const u64 mask = q.size == 4 ? 0xffffffffull : (1ull << (8 * q.size)) - 1;
        r.rax = (r.rax & ~mask) | (v & mask);
    }
    advance_rip();
}

void handle_vmcall(GuestRegs& r, u32 vm_id) {
    const u64 nr = r.rax & 0xffffffff;
    const u64 arg = r.rbx;
    r.rax = nr == kHypercallEcho ? arg + 1 : ~0ull; // unknown hypercall: -1
    kprint("vm %u: vmcall nr %llu arg %#llx -> %#llx\n", vm_id, static_cast<ull>(nr),
           static_cast<ull>(arg), static_cast<ull>(r.rax));
    advance_rip();
}

// Only IA32_PAT is readable; every other MSR (VMX capabilities included) is #GP.
bool handle_rdmsr(GuestRegs& r, u32 vm_id) {
    const u32 msr = static_cast<u32>(r.rcx);
    if (msr == kMsrIa32Pat) {
        r.rax = kGuestPat & 0xffffffff, r.rdx = kGuestPat >> 32;
        kprint("vm %u: rdmsr %#x allowed -> %#018llx\n", vm_id, msr, static_cast<ull>(kGuestPat));
        advance_rip();
        return false;
    }
    kprint("vm %u: rdmsr %#x forbidden -> injecting #GP\n", vm_id, msr);
    inject_gp(); // a fault: RIP stays on the RDMSR
    return true;
}

} // namespace

Status run_guest(GuestRegs& regs, u32 vm_id) {
    ExitCounts n{};
    Console con{};
    for (u32 launched = 0;; launched = 1) {
        const auto rr = static_cast<RunResult>(vmx_run(&regs, launched));
        if (rr != RunResult::Exited) {
            const u32 e = rr == RunResult::FailValid ? vmread(VmcsField32::VmInstructionError) : 0;
            kprint("vm %u: %s failed: %s, VM-instruction error %u (%s)\n", vm_id,
                   launched ? "VMRESUME" : "VMLAUNCH",
                   rr == RunResult::FailValid ? "VMfailValid" : "VMfailInvalid", e,
                   instruction_error_name(e));
            return Status::HardwareFault;
        }
        const ExitReasonField why = decode_exit_reason(vmread(VmcsField32::ExitReason));
        switch (why.basic) {
        case ExitReason::Cpuid:
            ++n.cpuid;
            handle_cpuid(regs, vm_id);
            break;
        case ExitReason::IoInstruction:
            ++n.io;
            handle_io(regs, vm_id, con);
            break;
        case ExitReason::Vmcall:
            ++n.vmcall;
            handle_vmcall(regs, vm_id);
            break;
        case ExitReason::Rdmsr:
            ++n.rdmsr;
            n.gp_injected += handle_rdmsr(regs, vm_id);
            break;
        case ExitReason::ExternalInterrupt:
            // The host runs with interrupts off and owns no device yet: resume, but give
            // up if one stays asserted (it would livelock the CPU).
            if (++n.external < 1000) break;
            kprint("vm %u: external interrupt stays pending\n", vm_id);
            return Status::HardwareFault;
        case ExitReason::Hlt:
            kprint("vm %u: halted, exits: cpuid %u, io %u, vmcall %u, rdmsr %u (#GP injected %u), "
                   "external interrupt %u\n",
                   vm_id, n.cpuid, n.io, n.vmcall, n.rdmsr, n.gp_injected, n.external);
            return Status::Ok;
        default:
            kprint("vm %u: exit reason %u (%s)%s, qualification %#llx, guest RIP %#llx: stopping "
                   "the VM\n",
                   vm_id, static_cast<u32>(why.basic), exit_reason_name(why.basic),
                   why.entry_failure ? " [VM-entry failure]" : "",
                   static_cast<ull>(vmread(VmcsFieldNatural::ExitQualification)),
                   static_cast<ull>(vmread(VmcsFieldNatural::GuestRip)));
            return Status::HardwareFault;
        }
    }
}

} // namespace keel::vmx
