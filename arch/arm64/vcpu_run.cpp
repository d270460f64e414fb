// The vCPU loop on its own core: enter the guest, decode the exit (exit.hpp), handle
// it, re-enter, until the VM ends. Handlers touch only this VM's state; whatever the
// guest does, the worst outcome is that this VM stops (isolation).
#include "core_reset.hpp"
#include "el2_regs.hpp"
#include "exit.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm.hpp"
#include "hypervisor/vm/vm_devices.hpp"
#include "hypervisor/vm/vm_manager.hpp"
#include "its.hpp"
#include "live_update.hpp"
#include "percpu.hpp"
#include "sysreg.hpp"
#include "vcpu.hpp"
#include "vm_arch.hpp"
#include "vm_msi.hpp"
#include "vpsci.hpp"

namespace keel::arm64 {
namespace {

using ull = unsigned long long;

using keel::arm64::Next;

// One register a line: the formatter does not settle on this macro.
// clang-format off
#define KEEL_EL1_REGS(X)                                                                           \
    X(sctlr_el1)                                                                                   \
    X(ttbr0_el1)                                                                                   \
    X(ttbr1_el1)                                                                                   \
    X(tcr_el1)                                                                                     \
    X(mair_el1)                                                                                    \
    X(amair_el1)                                                                                   \
    X(vbar_el1)                                                                                    \
    X(esr_el1)                                                                                     \
    X(far_el1)                                                                                     \
    X(elr_el1)                                                                                     \
    X(spsr_el1)                                                                                    \
    X(sp_el0)                                                                                      \
    X(sp_el1)                                                                                      \
    X(tpidr_el0)                                                                                   \
    X(tpidrro_el0)                                                                                 \
    X(tpidr_el1)                                                                                   \
    X(contextidr_el1)                                                                              \
    X(cpacr_el1)                                                                                   \
    X(par_el1)                                                                                     \
    X(cntkctl_el1)                                                                                 \
    X(cntv_ctl_el0)                                                                                \
    X(cntv_cval_el0)                                                                               \
    X(cntp_ctl_el0)                                                                                \
    X(cntp_cval_el0)                                                                               \
    X(afsr0_el1)                                                                                   \
    X(afsr1_el1)
// clang-format on

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
// reported it (D1.10 exception entry, performed by hand on the guest's EL1 state):
// ESR/FAR/ELR/SPSR_EL1 as the hardware writes them, PSTATE as exception entry sets it.
void inject_abort(Vcpu& v, bool instruction, bool write = false) {
    VcpuContext& c = v.ctx;
    const bool from_el0 = (c.pstate & 0xf) == 0;
    const bool mte = ((KEEL_READ_SYSREG(id_aa64pfr1_el1) >> 8) & 0xf) != 0;
    KEEL_WRITE_SYSREG(esr_el1, injected_abort_esr(instruction, from_el0, write));
    KEEL_WRITE_SYSREG(far_el1, c.far);
    KEEL_WRITE_SYSREG(elr_el1, c.pc);
    KEEL_WRITE_SYSREG(spsr_el1, c.pstate);
    c.pc = KEEL_READ_SYSREG(vbar_el1) + sync_vector_offset(c.pstate);
    c.pstate = exception_entry_pstate(c.pstate, KEEL_READ_SYSREG(sctlr_el1), mte);
    stat_inc(v.vm->stats.aborts_injected);
}

bool in_ram(const Vm& vm, u64 ipa) {
    return ipa >= vm.ram_ipa().raw() && ipa < vm.ram_ipa().raw() + vm.mem_size;
}

// The guest's ECAM (guest_map.hpp): its assigned functions' config space (GuestPci).
void pci_config(Vcpu& v, u32 off, const DataAbort& da, u64* value) {
    if (da.write)
        v.vm->pci->config_write(*v.vm, off, da.size, static_cast<u32>(*value));
    else
        *value = v.vm->pci->config_read(*v.vm, off, da.size);
}

// Emulated MMIO (the UART, the GIC, the ECAM), for a stage-2 data abort with a valid syndrome.
bool mmio(Vcpu& v, const DataAbort& da) {
    const u64 ipa = da.ipa.raw();
    u64 value = da.write ? reg(v.ctx, da.srt) : 0;
    if (da.write && da.size < 8) value &= (1ull << (8 * da.size)) - 1;
    if (ipa >= kGuestUartIpa && ipa < kGuestUartIpa + kGuestUartSize)
        vuart_mmio(v, ipa - kGuestUartIpa, da.write, &value);
    else if (ipa >= kGuestGpioIpa && ipa < kGuestGpioIpa + kGuestGpioSize)
        vgpio_mmio(v, ipa - kGuestGpioIpa, da.write, &value);
    else if (ipa >= kGuestMsiFrameIpa && ipa < kGuestMsiFrameIpa + kGuestMsiFrameSize &&
             v.vm->pci != nullptr && da.size == 4) {
        if (!msi_frame_mmio(v, ipa - kGuestMsiFrameIpa, da.write, &value)) return false;
    } else if (ipa >= kGuestEcamIpa && ipa < kGuestEcamIpa + kGuestEcamSize &&
               v.vm->pci != nullptr && da.size <= 4)
        pci_config(v, static_cast<u32>(ipa - kGuestEcamIpa), da, &value);
    else if (ipa - arch::kGuestPciWindow.raw() < arch::kGuestPciWindowSize &&
             v.vm->pci != nullptr) {
        if (!v.vm->pci->bar_access(*v.vm, ipa, da.size, da.write, &value)) return false;
    } else if (!vgic_mmio(v, ipa, da.write, da.size, &value))
        return false;
    if (!da.write) {
        if (da.size < 8) {
            value &= (1ull << (8 * da.size)) - 1;
            if (da.sign_extend && (value >> (8 * da.size - 1)) & 1)
                value |= ~((1ull << (8 * da.size)) - 1);
        }
        if (!da.sf64) value &= 0xffffffffull;
        set_reg(v.ctx, da.srt, value);
    }
    return true;
}

// A stage-2 abort (data, instruction, or the guest's own table walk) inside the VM's
// RAM: a translation fault is the first touch of a block not yet mapped, which is
// zeroed and mapped now (ram_block_ready), and the access runs again. Anything else in
// RAM cannot happen with RAM mapped RWX: the VM stops.
Next ram_fault(Vcpu& v, const DataAbort& da, const char* kind) {
    Vm& vm = *v.vm;
    const bool translation = (da.dfsc & 0x3c) == 0x04; // FSC 0b0001LL (D17.2.37)
    const Status s = translation ? ram_block_ready(vm, da.ipa.raw()) : Status::BadState;
    if (s == Status::Ok) return Next::Resume;
    kprint("vm %u: %s stage-2 fault in its RAM (ipa %#llx, fsc %#x: %s), stopping\n", vm.id, kind,
           static_cast<ull>(da.ipa.raw()), da.dfsc,
           translation ? status_name(s) : "not a translation fault");
    return Next::Stop;
}

Next data_abort(Vcpu& v) {
    const DataAbort da = DataAbort::decode(Esr{v.ctx.esr}, v.ctx.far, v.ctx.hpfar);
    if (in_ram(*v.vm, da.ipa.raw())) return ram_fault(v, da, "data");
    // Without a syndrome (ISV = 0: a load/store pair, writeback, ...) nothing can be
    // emulated; an address nobody owns is refused. Either way the guest gets the abort.
    if (da.isv && mmio(v, da)) {
        v.ctx.pc += 4;
        return Next::Resume;
    }
    inject_abort(v, false, da.write);
    return Next::Resume;
}

// A fetch outside the VM's memory: the guest gets the external instruction abort a bare
// machine would deliver (issue 10 item 14). Only a fetch of the very vector the abort
// would go to stops the VM: the guest could never run another instruction (on hardware
// the core would spin in that abort with every exception masked).
Next instruction_abort(Vcpu& v) {
    VcpuContext& c = v.ctx;
    const u64 ipa = fault_ipa(c.far, c.hpfar);
    if (in_ram(*v.vm, ipa)) {
        // The ISS's FSC sits where a data abort's does (D17.2.37.5): first touch of a
        // block not yet zeroed and mapped.
        return ram_fault(v, DataAbort::decode(Esr{c.esr}, c.far, c.hpfar), "instruction");
    }
    if (c.pc == KEEL_READ_SYSREG(vbar_el1) + sync_vector_offset(c.pstate)) {
        kprint("vm %u: instruction fetch outside its memory at its own exception vector "
               "(ipa %#llx, pc %#llx), stopping\n",
               v.vm->id, static_cast<ull>(ipa), static_cast<ull>(c.pc));
        return Next::Stop;
    }
    inject_abort(v, true);
    return Next::Resume;
}

// Trapped system registers: ICC_SGI1R_EL1 (HCR_EL2.IMO traps SGI generation, IHI 0069
// 12.2.22) and MDRAR_EL1 (MDCR_EL2.TDRA: reads as zero, no debug ROM table).
Next sysreg(Vcpu& v) {
    const SysRegAccess s = SysRegAccess::decode(Esr{v.ctx.esr});
    const bool sgi1r = s.op0 == 3 && s.op1 == 0 && s.crn == 12 && s.crm == 11 && s.op2 == 5;
    if (sgi1r && !s.read)
        vgic_sgi(v, reg(v.ctx, s.rt));
    else if (s.read)
        set_reg(v.ctx, s.rt, 0);
    v.ctx.pc += 4;
    return Next::Resume;
}

Next handle_exit(Vcpu& v, VmEnd* end) {
    VcpuContext& c = v.ctx;
    const Esr esr{c.esr};
    *end = VmEnd::Fault;
    switch (classify_exit(c.exit_vector, esr)) {
    case ExitReason::Hvc: return guest_smccc(v, end);            // ELR already past the HVC
    case ExitReason::Smc: c.pc += 4; return guest_smccc(v, end); // ELR is the SMC itself
    case ExitReason::SysReg: return sysreg(v);
    case ExitReason::DataAbort: return data_abort(v);
    case ExitReason::InstructionAbort: return instruction_abort(v);
    case ExitReason::Wfx: c.pc += 4; return Next::Resume;
    case ExitReason::Irq:
    case ExitReason::Fiq:
        stat_inc(v.vm->stats.irq_exits);
        vgic_irq_exit(v);
        return Next::Resume;
    case ExitReason::SError:
    case ExitReason::Unknown: break;
    }
    kprint("vm %u: unhandled exit (vector %llu, esr %#llx, pc %#llx), stopping\n", v.vm->id,
           static_cast<ull>(c.exit_vector), static_cast<ull>(c.esr), static_cast<ull>(c.pc));
    return Next::Stop;
}

} // namespace

namespace {

// Enters the guest and handles its exits until the VM stops, then leaves the core clean.
void vcpu_loop(Vcpu& v) {
    Vm& vm = *v.vm;
    VmContext& a = vm.arch;
    VmEnd end = VmEnd::None;
    Next next = Next::Stop;
    u64 back = 0; // CNTPCT when the last exit came back from the guest
    while (!__atomic_load_n(&a.stopping, __ATOMIC_ACQUIRE)) {
        vgic_flush(v);
        if (back != 0)
            __atomic_fetch_add(&vm.stats.handling_ticks, KEEL_READ_SYSREG(cntpct_el0) - back,
                               __ATOMIC_RELAXED);
        (void)arm64_vcpu_run(&v.ctx);
        back = KEEL_READ_SYSREG(cntpct_el0);
        stat_inc(vm.stats.exits);
        next = handle_exit(v, &end);
        // An assigned VF's MSI taken here (the boot core runs this vCPU: bench mode): to its
        // owner now, as the boot core's loop would have done (docs/sriov.md "MSI-X").
        if (its_deferred()) vm_manager().poll_devices();
        if (next != Next::Resume) break;
        if (quiesce_requested()) {
            // A live update holds every vCPU (docs/handover.md §4): the guest's EL1 state
            // into its context for the record; it also stays in this core's registers,
            // which nothing touches while parked, so nothing is reloaded on the way back.
            el1_save(v.el1);
            vgic_save_lrs(v.parked_lr, &v.parked_lr_count, &v.parked_ap1r0);
            park_until_resumed();
            back = KEEL_READ_SYSREG(cntpct_el0); // parked is not handling
        }
    }
    if (next == Next::Stop && end != VmEnd::None) vm_request_stop(vm, end);
    el1_save(v.el1);
    vgic_vcpu_stop();
    // The core is free for this VM's next CPU_ON before the vCPU reads as off.
    __atomic_store_n(&this_cpu().work, nullptr, __ATOMIC_RELEASE);
    __atomic_store_n(&v.on, 0u, __ATOMIC_RELEASE);
    // Stage-2 entries of this VMID stay cached until the manager's teardown broadcasts
    // TLBI VMALLS12E1IS (vm_arch.cpp); the core holds no reference to the tables any more.
    KEEL_WRITE_SYSREG(vttbr_el2, 0);
    isb();
    if (__atomic_sub_fetch(&a.running, 1u, __ATOMIC_ACQ_REL) == 0) {
        // Last one out: the VM's end is the stop request's, or a CPU_OFF of its last vCPU.
        vm_last_vcpu_left(
            vm, __atomic_load_n(&a.stopping, __ATOMIC_ACQUIRE) ? a.end : VmEnd::GuestPowerOff);
    }
}

void load_stage2(const Vcpu& v) {
    KEEL_WRITE_SYSREG(vmpidr_el2, (1ull << 31) | v.index); // RES1 bit 31, Aff0 = vCPU index
    KEEL_WRITE_SYSREG(vttbr_el2, vttbr(v.vm->arch.stage2.root().raw(), v.vm->id));
    isb();
}

} // namespace

void vcpu_run_until_stopped(Vcpu& v) {
    Vm& vm = *v.vm;
    load_stage2(v);
    // A fresh VMID on this core: nothing cached may predate these tables.
    asm volatile("tlbi vmalls12e1; dsb nsh; ic iallu; dsb nsh; isb" ::: "memory");
    core_reset_for_vcpu(vm.id); // nothing of the core's previous VM stays readable
    el1_load(v.el1);
    vgic_vcpu_start(v);
    kprint("vm %u: vcpu %u running on cpu %u\n", vm.id, v.index, v.core);
    v.first_entry_tick = KEEL_READ_SYSREG(cntpct_el0);
    vcpu_loop(v);
}

void vcpu_resume_adopted(Vcpu& v) {
    // The same tables and VMID as before the update (the tree was adopted in place): what
    // the TLBs hold is still right. The guest's EL1, FP/SIMD and vGIC state never left the
    // core; ICH_HCR_EL2 is rewritten from the record at the first flush.
    this_cpu().last_vm = static_cast<u16>(v.vm->id);
    load_stage2(v);
    vcpu_reentered();
    vcpu_loop(v);
}

} // namespace keel::arm64
