// The guest platform's port I/O, hypercalls and HLT, for VMX and SVM alike
// (docs/x86-vmx.md "The guest platform").
#include "exit_policy.hpp"
#include "hypervisor/print.hpp"

namespace keel::virt {

// COM1 as a 16550 that is always ready: THR writes are the console (one line per
// "[vm N]" print), LSR reads THRE|TEMT. Other COM1 registers read 0; every other port
// reads all-ones and ignores writes (an empty ISA bus).
void io_exit(Vm& vm, Vcpu& v, bool in, u16 port, u8 size) {
    GuestRegs& r = v.regs;
    if (!in && port == 0x3f8) {
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
    } else if (in) {
        const u64 val = port == 0x3fd ? 0x60 : (port >= 0x3f8 && port <= 0x3ff) ? 0 : ~0ull;
        const u64 mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
        r.rax = size == 4 ? (val & mask) : (r.rax & ~mask) | (val & mask);
    }
}

ExitAction hypercall_exit(Vm& vm, Vcpu& v) {
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
    return ExitAction::Resume;
}

// HLT: with the one-shot timer armed and interrupts enabled, wait (this core is the
// VM's own) until the deadline. Otherwise nothing could ever wake the vCPU (no IPIs but
// INIT/SIPI yet): it stops, and with it the VM if it was the only vCPU.
ExitAction hlt_exit(Vm& vm, Vcpu& v, bool interrupts) {
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
    return ExitAction::Resume;
}

} // namespace keel::virt
