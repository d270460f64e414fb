// The vCPU loop on its own core: enter the guest, decode the exit (exit.hpp), handle
// it, re-enter, until the VM ends. Handlers touch only this VM's state; whatever the
// guest does, the worst outcome is that this VM stops (isolation).
#include "el2_regs.hpp"
#include "exit.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm.hpp"
#include "sysreg.hpp"
#include "vcpu.hpp"
#include "vm_arch.hpp"

namespace keel::arm64 {
namespace {

using ull = unsigned long long;

// SMCCC function ids (Arm DEN 0028; PSCI: DEN 0022 5.1).
constexpr u64 kPsciVersionFn = 0x84000000;
constexpr u64 kPsciCpuOff = 0x84000002;
constexpr u64 kPsciSystemOffFn = 0x84000008;
constexpr u64 kPsciSystemReset = 0x84000009;
constexpr u64 kPsciFeatures = 0x8400000a;
constexpr u64 kKeelNullCall = 0xc6000000; // SMC64 fast call, vendor-specific hypervisor service 0
constexpr u64 kPsci11 = 0x10001;
constexpr u64 kNotSupported = static_cast<u64>(-1);

enum class Next { Resume, Stop };

#define KEEL_EL1_REGS(X)                                                                           \
    X(sctlr_el1) X(ttbr0_el1) X(ttbr1_el1) X(tcr_el1) X(mair_el1) X(amair_el1) X(vbar_el1)         \
    X(esr_el1) X(far_el1) X(elr_el1) X(spsr_el1) X(sp_el0) X(sp_el1) X(tpidr_el0) X(tpidrro_el0)   \
    X(tpidr_el1) X(contextidr_el1) X(cpacr_el1) X(par_el1) X(cntkctl_el1) X(cntv_ctl_el0)          \
    X(cntv_cval_el0)

void el1_load(const El1Context& c) {
#define KEEL_LOAD(r) KEEL_WRITE_SYSREG(r, c.r);
    KEEL_EL1_REGS(KEEL_LOAD)
#undef KEEL_LOAD
    isb();
}

void el1_save(El1Context& c) {
#define KEEL_SAVE(r) c.r = KEEL_READ_SYSREG(r);
    KEEL_EL1_REGS(KEEL_SAVE)
#undef KEEL_SAVE
}

u64 reg(const VcpuContext& c, u8 r) { return r == 31 ? 0 : c.x[r]; }
void set_reg(VcpuContext& c, u8 r, u64 v) {
    if (r != 31) c.x[r] = v;
}

// Synchronous external abort into the guest, as if its own memory system had
// reported it (D1.10 exception entry, performed by hand on the guest's EL1 state).
void inject_abort(Vcpu& v, bool instruction) {
    VcpuContext& c = v.ctx;
    const bool from_el0 = (c.pstate & 0xf) == 0;
    KEEL_WRITE_SYSREG(esr_el1, injected_abort_esr(instruction, from_el0));
    KEEL_WRITE_SYSREG(far_el1, c.far);
    KEEL_WRITE_SYSREG(elr_el1, c.pc);
    KEEL_WRITE_SYSREG(spsr_el1, c.pstate);
    c.pc = KEEL_READ_SYSREG(vbar_el1) + sync_vector_offset(c.pstate);
    c.pstate = kGuestEntryPstate;
    ++v.vm->stats.aborts_injected;
}

// Minimal PL011 transmit side (DDI 0183): DR writes become console lines, FR reads
// say "transmit FIFO empty, receive FIFO empty", everything else reads 0.
void uart_access(Vcpu& v, const DataAbort& da) {
    constexpr u64 kDr = 0x00, kFr = 0x18;
    constexpr u64 kFrRxfe = 1u << 4, kFrTxfe = 1u << 7;
    VmArch& a = vm_arch(*v.vm);
    const u64 off = da.ipa.raw() - kGuestUartIpa;
    if (!da.write) {
        set_reg(v.ctx, da.srt, off == kFr ? (kFrRxfe | kFrTxfe) : 0);
        return;
    }
    if (off != kDr) return;
    char ch = static_cast<char>(reg(v.ctx, da.srt) & 0xff);
    if (ch != '\n' && ch != '\r') a.uart_line[a.uart_len++] = ch;
    if (ch == '\n' || a.uart_len == sizeof a.uart_line - 1) {
        a.uart_line[a.uart_len] = '\0';
        kprint("[vm %u] %s\n", v.vm->id, a.uart_line);
        a.uart_len = 0;
        ++v.vm->stats.console_lines;
    }
}

Next data_abort(Vcpu& v) {
    const DataAbort da = DataAbort::decode(Esr{v.ctx.esr}, v.ctx.far, v.ctx.hpfar);
    const u64 ipa = da.ipa.raw();
    const Vm& vm = *v.vm;
    if (ipa >= kGuestUartIpa && ipa < kGuestUartIpa + kGuestUartSize) {
        if (!da.isv) {
            kprint("vm %u: uart access without syndrome at pc %#llx, stopping\n", vm.id,
                   static_cast<ull>(v.ctx.pc));
            return Next::Stop;
        }
        uart_access(v, da);
        v.ctx.pc += 4;
        return Next::Resume;
    }
    if (ipa >= vm.ram_ipa().raw() && ipa < vm.ram_ipa().raw() + vm.mem_size) {
        kprint("vm %u: unexpected stage-2 fault in its RAM (ipa %#llx, dfsc %#x), stopping\n", vm.id,
               static_cast<ull>(ipa), da.dfsc);
        return Next::Stop;
    }
    inject_abort(v, false);
    return Next::Resume;
}

// PSCI and Keel calls, over HVC or (trapped) SMC alike.
Next smccc(Vcpu& v, VmEnd* end) {
    VcpuContext& c = v.ctx;
    ++v.vm->stats.hypercalls;
    switch (c.x[0]) {
    case kKeelNullCall: c.x[0] = 0; return Next::Resume;
    case kPsciVersionFn: c.x[0] = kPsci11; return Next::Resume;
    case kPsciFeatures: {
        u64 fn = c.x[1];
        bool known = fn == kPsciVersionFn || fn == kPsciSystemOffFn || fn == kPsciSystemReset ||
                     fn == kPsciCpuOff || fn == kPsciFeatures;
        c.x[0] = known ? 0 : kNotSupported;
        return Next::Resume;
    }
    case kPsciSystemOffFn: *end = VmEnd::GuestPowerOff; return Next::Stop;
    case kPsciSystemReset: *end = VmEnd::GuestReset; return Next::Stop;
    case kPsciCpuOff: *end = VmEnd::GuestPowerOff; return Next::Stop; // its only vCPU
    default: c.x[0] = kNotSupported; return Next::Resume;
    }
}

Next handle_exit(Vcpu& v, VmEnd* end) {
    VcpuContext& c = v.ctx;
    const Esr esr{c.esr};
    *end = VmEnd::Fault;
    switch (classify_exit(c.exit_vector, esr)) {
    case ExitReason::Hvc: return smccc(v, end); // ELR already past the HVC
    case ExitReason::Smc: c.pc += 4; return smccc(v, end); // ELR is the SMC itself
    case ExitReason::SysReg: {
        // Only the trapped debug registers land here (MDCR_EL2): read as zero, ignore writes.
        const SysRegAccess s = SysRegAccess::decode(esr);
        if (s.read) set_reg(c, s.rt, 0);
        c.pc += 4;
        return Next::Resume;
    }
    case ExitReason::DataAbort: return data_abort(v);
    case ExitReason::InstructionAbort:
        // Executing outside its RAM (or a vector table that is not there): injecting
        // would loop, so the VM stops.
        kprint("vm %u: instruction fetch outside its memory (ipa %#llx, pc %#llx), stopping\n",
               v.vm->id, static_cast<ull>((c.hpfar >> 4) << 12), static_cast<ull>(c.pc));
        return Next::Stop;
    case ExitReason::Wfx: c.pc += 4; return Next::Resume;
    case ExitReason::Irq:
    case ExitReason::Fiq: return Next::Resume; // nothing routed yet; the guest continues
    case ExitReason::SError:
    case ExitReason::Unknown: break;
    }
    kprint("vm %u: unhandled exit (vector %llu, esr %#llx, pc %#llx), stopping\n", v.vm->id,
           static_cast<ull>(c.exit_vector), static_cast<ull>(c.esr), static_cast<ull>(c.pc));
    return Next::Stop;
}

} // namespace

void vcpu_run_until_stopped(Vcpu& v) {
    Vm& vm = *v.vm;
    VmArch& a = vm_arch(vm);
    KEEL_WRITE_SYSREG(vmpidr_el2, (1ull << 31) | v.index); // RES1 bit 31, Aff0 = vCPU index
    KEEL_WRITE_SYSREG(vttbr_el2, vttbr(a.stage2.root().raw(), vm.id));
    isb();
    // A fresh VMID on this core: nothing cached may predate these tables.
    asm volatile("tlbi vmalls12e1; dsb nsh; ic iallu; dsb nsh; isb" ::: "memory");
    el1_load(v.el1);
    kprint("vm %u: vcpu %u running on cpu %u\n", vm.id, v.index, v.core);
    VmEnd end = VmEnd::Fault;
    for (;;) {
        (void)arm64_vcpu_run(&v.ctx);
        ++vm.stats.exits;
        if (handle_exit(v, &end) == Next::Stop) break;
    }
    el1_save(v.el1);
    vm_teardown(vm, end);
}

} // namespace keel::arm64
