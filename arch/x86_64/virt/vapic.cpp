// The guest's local APIC as x2APIC MSRs (SDM Vol. 3A 11.12 "Extended XAPIC (x2APIC)"),
// its register logic in lapic.hpp, and interrupt delivery inside one VM: IPIs between
// the VM's own vCPUs, the I/O APIC's routes, and what each vCPU's next entry injects.
//
//   IA32_APIC_BASE (0x1b)  reads 0xfee00000 | EN | EXTD | BSP (vCPU 0); a write of that
//                          same value is accepted, any other #GP (x2APIC from reset)
//   0x800-0x8ff            the x2APIC registers (lapic_read/lapic_write; #GP as the SDM)
//   IA32_TSC_DEADLINE (0x6e0)  the timer's TSC deadline
//   ICR / SELF IPI         fixed and lowest-priority (to the first match), NMI, INIT and
//                          STARTUP; physical or x2APIC logical destinations and the
//                          shorthands. Only this VM's vCPUs are ever looked at.
// INIT to a vCPU that was never started puts it in wait-for-SIPI; STARTUP to a vCPU in
// wait-for-SIPI starts it in real mode at vector:0000 (CS = vector << 8, base vector << 12)
// on its own core, which has been waiting in vcpu_run_until_stopped. Both are ignored
// otherwise, as on hardware (9.4.4: a second STARTUP is ignored). A vCPU that has run is
// never reset: an INIT to it is reported and dropped.
//
// Other cores set a vCPU's IRR (atomic); the vCPU sees it at its next exit or while it
// waits in HLT (devices.cpp).
#include "exit_policy.hpp"

#include "../apic.hpp"
#include "../tsc.hpp"
#include "hypervisor/print.hpp"

namespace keel::virt {
namespace {

constexpr u32 kMsrApicBase = 0x1b, kMsrTscDeadline = 0x6e0;
constexpr u64 kApicBaseDefault = 0xfee00000, kApicBaseBsp = 1ull << 8, kApicBaseExtd = 1ull << 10,
              kApicBaseEnable = 1ull << 11;
constexpr u32 kModeFixed = 0, kModeLowest = 1, kModeNmi = 4, kModeInit = 5, kModeStartup = 6;

u64 apic_base(const Vcpu& v) {
    return kApicBaseDefault | (v.apic_off ? 0 : kApicBaseEnable) |
           (v.apic.xapic || v.apic_off ? 0 : kApicBaseExtd) | (v.index == 0 ? kApicBaseBsp : 0);
}

// IA32_APIC_BASE writes (11.12.5, figure 11-27): x2APIC -> disabled -> xAPIC -> x2APIC;
// x2APIC straight to xAPIC, EXTD without EN, a moved base or BSP flag are #GP. Going
// to disabled resets the APIC's state (11.4.3).
bool write_apic_base(Vcpu& v, u64 value) {
    const u64 fixed = kApicBaseDefault | (v.index == 0 ? kApicBaseBsp : 0);
    if ((value & ~(kApicBaseEnable | kApicBaseExtd)) != fixed) return false;
    const bool en = value & kApicBaseEnable, extd = value & kApicBaseExtd;
    const bool was_x2 = !v.apic_off && !v.apic.xapic;
    if (extd && !en) return false;
    if (was_x2 && en && !extd) return false;
    if (v.apic_off && en && extd) return false;
    if (!en) {
        lapic_reset(v.apic, v.index);
        v.apic_off = true;
        return true;
    }
    v.apic_off = false;
    v.apic.xapic = !extd;
    return true;
}

void start_ap(Vm& vm, VmContext& s, const Vcpu& from, Vcpu& to, u32 mode, u8 vector) {
    if (mode == kModeInit) {
        u32 expected = static_cast<u32>(VcpuRun::Reset);
        if (__atomic_compare_exchange_n(&to.run, &expected, static_cast<u32>(VcpuRun::WaitSipi),
                                        false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            kprint("vm %u: vcpu %u: INIT to vcpu %u: waiting for SIPI\n", vm.id, from.index,
                   to.index);
        else if (expected != static_cast<u32>(VcpuRun::WaitSipi))
            kprint("vm %u: vcpu %u: INIT to vcpu %u, which has run: not emulated, ignored\n", vm.id,
                   from.index, to.index);
        return;
    }
    if (__atomic_load_n(&to.run, __ATOMIC_ACQUIRE) != static_cast<u32>(VcpuRun::WaitSipi)) return;
    to.sipi_vector = vector;
    // Counted live by the sender, so the VM cannot be seen as over before it runs.
    __atomic_add_fetch(&s.live, 1u, __ATOMIC_ACQ_REL);
    kprint("vm %u: vcpu %u: SIPI to vcpu %u, vector %#x\n", vm.id, from.index, to.index, vector);
    __atomic_store_n(&to.run, static_cast<u32>(VcpuRun::Starting), __ATOMIC_RELEASE);
}

void post(Vcpu& to, u32 mode, u8 vector) {
    if (mode == kModeNmi)
        __atomic_store_n(&to.nmi_pending, 1u, __ATOMIC_RELEASE);
    else
        lapic_post(to.apic, vector);
}

void send_ipi(Vm& vm, Vcpu& from, u64 icr) {
    VmContext& s = vm.arch;
    const u32 mode = (icr >> 8) & 7, shorthand = (icr >> 18) & 3,
              dest = static_cast<u32>(icr >> 32);
    const bool logical = icr & (1u << 11), level_assert = icr & (1u << 14);
    const u8 vector = static_cast<u8>(icr & 0xff);
    const u32 broadcast = from.apic.xapic ? 0xffu : 0xffffffffu;
    if (mode != kModeFixed && mode != kModeLowest && mode != kModeNmi && mode != kModeInit &&
        mode != kModeStartup) {
        kprint("vm %u: vcpu %u: IPI delivery mode %u (ICR %#llx) not emulated, dropped\n", vm.id,
               from.index, mode, static_cast<unsigned long long>(icr));
        return;
    }
    if (mode == kModeInit && !level_assert) return; // INIT level de-assert: no effect (11.6.1)
    for (u32 i = 0; i < s.vcpus; ++i) {
        Vcpu& to = s.vcpu[i];
        const bool self = i == from.index;
        const bool hit = shorthand == 1   ? self
                         : shorthand == 2 ? true
                         : shorthand == 3 ? !self
                         : logical        ? lapic_logical_match(to.apic, dest, false)
                                          : dest == to.apic.id || dest == broadcast;
        if (!hit) continue;
        if (mode == kModeInit || mode == kModeStartup) {
            if (!self) start_ap(vm, s, from, to, mode, vector);
            continue;
        }
        post(to, mode, vector);
        if (mode == kModeLowest) return; // lowest priority: one of them (the first)
    }
}

} // namespace

void vcpu_apic_reset(Vcpu& v) { lapic_reset(v.apic, v.index); }

void deliver_route(Vm& vm, const IoapicRoute& r) {
    if (!r.deliver) return;
    VmContext& s = vm.arch;
    for (u32 i = 0; i < s.vcpus; ++i) {
        Vcpu& to = s.vcpu[i];
        const bool hit = r.logical ? lapic_logical_match(to.apic, r.dest, true)
                                   : r.dest == to.apic.id || r.dest == 0xff;
        if (!hit) continue;
        post(to, r.mode, r.vector);
        if (r.mode != kModeFixed) return; // lowest priority (and NMI): the first match
    }
}

bool xapic_access(Vm& vm, Vcpu& v, bool write, u64 offset, u32* value) {
    if (!v.apic.xapic || v.apic_off) return false;
    const u64 now = __builtin_ia32_rdtsc();
    if (!write) {
        *value = lapic_mmio_read(v.apic, offset, now);
        return true;
    }
    if (lapic_mmio_write(v.apic, offset, *value, now) == LapicResult::SendIpi)
        send_ipi(vm, v, lapic_icr_of(v.apic, kApicIcr, 0));
    return true;
}

bool interrupt_waiting(Vm& vm, Vcpu& v) {
    poll_console_input(vm);
    lapic_timer_update(v.apic, __builtin_ia32_rdtsc());
    return __atomic_load_n(&v.nmi_pending, __ATOMIC_ACQUIRE) || lapic_pending(v.apic) >= 0;
}

Injection next_injection(Vm& vm, Vcpu& v, bool interruptible, bool nmi_ok) {
    if (!interrupt_waiting(vm, v)) return Injection{InjectKind::None, 0};
    if (nmi_ok && __atomic_exchange_n(&v.nmi_pending, 0u, __ATOMIC_ACQ_REL))
        return Injection{InjectKind::Nmi, 2};
    const int vec = lapic_pending(v.apic);
    if (vec < 0) return Injection{InjectKind::None, 0};
    if (!interruptible) return Injection{InjectKind::Window, 0};
    lapic_accept(v.apic, static_cast<u8>(vec));
    return Injection{InjectKind::Interrupt, static_cast<u8>(vec)};
}

void arm_kick(const Vcpu& v) {
    const u64 now = __builtin_ia32_rdtsc(), cap = now + x86::tsc_hz() / 1000 * kKickPeriodMs;
    const u64 next = lapic_timer_next(v.apic);
    x86::apic_kick_at(next != 0 && static_cast<i64>(next - cap) < 0 ? next : cap);
}

MsrResult vapic_msr(Vm& vm, Vcpu& v, u32 msr, bool write, u64 value, u64* out) {
    const u64 now = __builtin_ia32_rdtsc();
    if (msr == kMsrApicBase) {
        if (write && !write_apic_base(v, value)) return MsrResult::Refused;
        *out = apic_base(v);
        return MsrResult::Done;
    }
    if (msr == kMsrTscDeadline) {
        if (write)
            lapic_deadline_write(v.apic, value);
        else
            *out = lapic_deadline_read(v.apic);
        return MsrResult::Done;
    }
    if (msr < 0x800 || msr > 0x8ff) return MsrResult::NotMine;
    if (v.apic.xapic || v.apic_off) return MsrResult::Refused; // 11.12.1: #GP outside x2APIC
    const u32 reg = msr - 0x800;
    if (!write)
        return lapic_read(v.apic, reg, now, out) == LapicResult::Ok ? MsrResult::Done
                                                                    : MsrResult::Refused;
    const LapicResult r = lapic_write(v.apic, reg, value, now);
    if (r == LapicResult::Refused) return MsrResult::Refused;
    if (r == LapicResult::SendIpi) send_ipi(vm, v, lapic_icr_of(v.apic, reg, value));
    return MsrResult::Done;
}

} // namespace keel::virt
