// The guest platform's port I/O, hypercalls and HLT, for VMX and SVM alike
// (docs/x86-vmx.md "The guest platform"; a Linux VM's platform: docs/x86-linux.md).
//
//   0x3f8-0x3ff  COM1, a 16550A (uart.hpp) whose interrupt is the I/O APIC's pin 4
//   0x42, 0x43, 0x61  the PIT's channel 2 and its gate (pit.hpp)
//   0x70, 0x71   the CMOS real-time clock, the platform's wall clock (rtc.hpp)
//   0x608        the ACPI PM timer (read-only, 32-bit)
//   0x600, 0x601 the FADT's sleep control and status registers: SLP_EN with \_S5's type
//                powers the VM off (ACPI 6.5 4.8.3.7)
//   0xcf9        the FADT's reset register: a write with bit 2 (reset CPU) resets the VM,
//                which ends it (VmEnd::GuestReset)
// Every other port reads all-ones and ignores writes (an empty ISA bus).

#include "../cmos_clock.hpp"
#include "../guest_acpi.hpp"
#include "../tsc.hpp"
#include "exit_policy.hpp"
#include "hypervisor/print.hpp"
#include "quiesce.hpp"

namespace keel::virt {
namespace {

constexpr u16 kCom1 = 0x3f8;
constexpr u32 kCom1Pin = 4;
constexpr u8 kSlpEn = 1u << 5;

u64 now() { return __builtin_ia32_rdtsc(); }

// The ACPI PM timer (ACPI 6.5 4.8.3.3): 3.579545 MHz, 32 bits (TMR_VAL_EXT), from the TSC.
u64 pm_timer(u64 tsc) {
    constexpr u64 kPmHz = 3579545;
    const u64 hz = x86::tsc_hz();
    if (hz == 0) return 0;
    return (tsc / hz * kPmHz + tsc % hz * kPmHz / hz) & 0xffffffff;
}

void console_byte(Vm& vm, Vcpu& v, char ch) {
    GuestConsole& c = v.console;
    vm.console_out(&ch, 1);
    if (ch == '\r') return;
    if (ch != '\n' && c.len < sizeof c.line - 1) {
        c.line[c.len++] = ch;
        return;
    }
    c.line[c.len] = '\0';
    kprint("[vm %u] %s\n", vm.id, c.line);
    __atomic_fetch_add(&vm.stats.console_lines, 1u, __ATOMIC_RELAXED);
    c.len = 0;
}

// Console input into RBR once the guest's driver has enabled receive interrupts (so a
// probe's drain does not eat it); dev_lock held.
void feed_rx(VmContext& s) {
    while (s.pending_input && *s.pending_input && s.rx_count < sizeof s.rx_queue) {
        s.rx_queue[(s.rx_head + s.rx_count) % sizeof s.rx_queue] = *s.pending_input++;
        ++s.rx_count;
    }
    if (s.pending_input && !*s.pending_input) s.pending_input = nullptr;
    if (s.rx_count != 0 && uart_rx_enabled(s.uart) && uart_wants_rx(s.uart)) {
        (void)uart_feed(s.uart, static_cast<u8>(s.rx_queue[s.rx_head]));
        s.rx_head = (s.rx_head + 1) % sizeof s.rx_queue;
        --s.rx_count;
    }
    __atomic_store_n(&s.rx_waiting, s.rx_count != 0 || s.pending_input != nullptr ? 1u : 0u,
                     __ATOMIC_RELEASE);
}

// COM1's interrupt line into the I/O APIC; dev_lock held.
void update_com1_line(Vm& vm) {
    VmContext& s = vm.arch;
    feed_rx(s);
    deliver_route(vm, ioapic_set_line(s.ioapic, kCom1Pin, uart_irq(s.uart)));
}

u64 com1_access(Vm& vm, Vcpu& v, bool in, u16 port, u64 value) {
    VmContext& s = vm.arch;
    const u32 reg = port - kCom1;
    u64 result = 0;
    char out = 0;
    bool sent = false;
    {
        LockGuard g(s.dev_lock);
        if (in) {
            result = uart_read(s.uart, reg);
        } else {
            u8 tx = 0;
            // A THR write is a pulse on the line (THRE clears, then sets again at once).
            if (reg == 0 && !(s.uart.lcr & 0x80)) (void)ioapic_set_line(s.ioapic, kCom1Pin, false);
            sent = uart_write(s.uart, reg, static_cast<u8>(value), &tx);
            out = static_cast<char>(tx);
        }
        update_com1_line(vm);
    }
    if (sent) console_byte(vm, v, out);
    return result;
}

} // namespace

void devices_reset(Vm& vm) {
    VmContext& s = vm.arch;
    uart_reset(s.uart);
    ioapic_reset(s.ioapic, 0);
    pit_reset(s.pit, x86::tsc_hz());
    const x86::WallClock clock = x86::wall_clock();
    rtc_reset(s.rtc, clock.unix_seconds, clock.tsc, x86::tsc_hz());
    s.pending_input = vm.initial_input && *vm.initial_input ? vm.initial_input : nullptr;
    s.rx_head = s.rx_count = 0;
    s.rx_waiting = s.pending_input ? 1u : 0u;
}

usize console_push(Vm& vm, const char* data, usize len) {
    VmContext& s = vm.arch;
    LockGuard g(s.dev_lock);
    usize n = 0;
    while (n < len && s.rx_count < sizeof s.rx_queue) {
        s.rx_queue[(s.rx_head + s.rx_count) % sizeof s.rx_queue] = data[n++];
        ++s.rx_count;
    }
    __atomic_store_n(&s.rx_waiting, 1u, __ATOMIC_RELEASE);
    return n;
}

void poll_console_input(Vm& vm) {
    VmContext& s = vm.arch;
    if (!__atomic_load_n(&s.rx_waiting, __ATOMIC_ACQUIRE)) return;
    LockGuard g(s.dev_lock);
    update_com1_line(vm);
}

ExitAction io_exit(Vm& vm, Vcpu& v, bool in, u16 port, u8 size) {
    GuestRegs& r = v.regs;
    VmContext& s = vm.arch;
    u64 val = ~0ull;
    if (port >= kCom1 && port <= kCom1 + 7) {
        val = com1_access(vm, v, in, port, r.rax & 0xff);
    } else if (port == 0x42 || port == 0x43 || port == 0x61) {
        LockGuard g(s.dev_lock);
        if (in)
            val = pit_read(s.pit, port, now());
        else
            pit_write(s.pit, port, static_cast<u8>(r.rax), now());
    } else if (port == kRtcIndexPort || port == kRtcDataPort) {
        LockGuard g(s.dev_lock);
        if (in)
            val = rtc_read(s.rtc, port, now());
        else
            rtc_write(s.rtc, port, static_cast<u8>(r.rax));
    } else if (in && port == kPmTimerPort) {
        val = pm_timer(now());
    } else if (port == kSleepStatusPort) {
        val = 0;
    } else if (!in && port == kSleepControlPort) {
        const u8 b = static_cast<u8>(r.rax);
        if ((b & kSlpEn) && ((b >> 2) & 7) == x86::kSleepTypeS5) {
            kprint("vm %u: guest power-off (ACPI S5)\n", vm.id);
            return ExitAction::PowerOff;
        }
    } else if (!in && port == kResetPort && (r.rax & 4)) {
        kprint("vm %u: guest reset (port %#x)\n", vm.id, port);
        return ExitAction::Reset;
    }
    if (in) {
        const u64 mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
        r.rax = size == 4 ? (val & mask) : (r.rax & ~mask) | (val & mask);
    }
    return ExitAction::Resume;
}

ExitAction hypercall_exit(Vm& vm, Vcpu& v) {
    GuestRegs& r = v.regs;
    __atomic_fetch_add(&vm.stats.hypercalls, 1u, __ATOMIC_RELAXED);
    switch (static_cast<Hypercall>(r.rax & 0xffffffff)) {
    case Hypercall::Null: r.rax = 0; break;
    case Hypercall::Echo: r.rax = r.rbx + 1; break;
    case Hypercall::TimerOneShot:
        v.timer_deadline = now() + r.rbx;
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

// HLT. The test guests' one-shot hypercall timer: wait for its deadline, the caller
// injects kTimerVector. Otherwise, with interrupts enabled, wait until the local APIC
// has something to deliver (its timer, an IPI, COM1's interrupt, an NMI). With
// interrupts disabled nothing could wake the vCPU: it stops, and with it the VM if it
// was the only one.
ExitAction hlt_exit(Vm& vm, Vcpu& v, bool interrupts) {
    v.timer_fired = false;
    if (!interrupts || (!v.timer_armed && !lapic_software_enabled(v.apic))) {
        const char* why = interrupts ? "no timer armed" : "interrupts disabled";
        if (vm.arch.vcpus > 1) {
            kprint("vm %u: vcpu %u: HLT with %s: nothing can wake it, vcpu stopped\n", vm.id,
                   v.index, why);
            return ExitAction::VcpuOff;
        }
        kprint("vm %u: HLT with %s: nothing can wake it, stopping the VM\n", vm.id, why);
        return ExitAction::PowerOff;
    }
    // A VM-wide stop (another vCPU's power-off or fault, the controller) ends any wait at
    // once (issue 10 item 12).
    for (;;) {
        if (__atomic_load_n(&vm.arch.stop, __ATOMIC_ACQUIRE)) return ExitAction::VcpuOff;
        park_if_requested(); // RIP still at the HLT: resumed, it halts again
        if (v.timer_armed) {
            if (static_cast<i64>(now() - v.timer_deadline) >= 0) {
                v.timer_armed = false;
                v.timer_fired = true;
                return ExitAction::Resume;
            }
        } else if (interrupt_waiting(vm, v)) {
            return ExitAction::Resume;
        }
        asm volatile("pause");
    }
}

} // namespace keel::virt
