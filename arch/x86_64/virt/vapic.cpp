// The guest's local APIC, emulated in x2APIC mode through the MSR bitmap (every
// x2APIC MSR exits; SDM Vol. 3A 11.12 "Extended XAPIC (x2APIC)"). Enough for a guest
// BSP to start its APs the x86 way (9.4.4.1): INIT, then STARTUP with a vector.
//
//   IA32_APIC_BASE (0x1b)  reads 0xfee00000 | EN | EXTD | BSP (vCPU 0); writes #GP
//                          (the mode is fixed: x2APIC from reset, CPUID.1:ECX[21] set)
//   0x802 ID, 0x803 version  read: vCPU index, 0x00050014
//   0x80b EOI              writes accepted (no interrupt is ever delivered through it)
//   0x830 ICR              writes: INIT (level assert) and STARTUP, physical destination
//                          or shorthand (11.12.9: destination in bits 63:32); reads the
//                          last value. Fixed, NMI, SMI and lowest-priority IPIs are
//                          reported and dropped (not emulated yet).
// INIT to a vCPU that was never started puts it in wait-for-SIPI; STARTUP to a vCPU in
// wait-for-SIPI starts it in real mode at vector:0000 (CS = vector << 8, base vector << 12)
// on its own core, which has been waiting in vcpu_run_until_stopped. Both are ignored
// otherwise, as on hardware (9.4.4: a second STARTUP is ignored). A vCPU that has run is
// never reset: an INIT to it is reported and dropped.
#include "exit_policy.hpp"
#include "hypervisor/print.hpp"

namespace keel::virt {
namespace {

constexpr u32 kMsrApicBase = 0x1b, kMsrX2apicId = 0x802, kMsrX2apicVersion = 0x803,
              kMsrX2apicEoi = 0x80b, kMsrX2apicIcr = 0x830;
constexpr u64 kApicBaseDefault = 0xfee00000, kApicBaseBsp = 1ull << 8, kApicBaseExtd = 1ull << 10,
              kApicBaseEnable = 1ull << 11;
constexpr u32 kModeInit = 5, kModeStartup = 6;

void deliver(Vm& vm, VmContext& s, const Vcpu& from, Vcpu& to, u32 mode, u8 vector) {
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

void send_ipi(Vm& vm, const Vcpu& from, u64 icr) {
    VmContext& s = vm.arch;
    const u32 mode = (icr >> 8) & 7, shorthand = (icr >> 18) & 3,
              dest = static_cast<u32>(icr >> 32);
    const bool level_assert = icr & (1u << 14);
    if (mode != kModeInit && mode != kModeStartup) {
        kprint("vm %u: vcpu %u: IPI delivery mode %u (ICR %#llx) not emulated, dropped\n", vm.id,
               from.index, mode, static_cast<unsigned long long>(icr));
        return;
    }
    if (mode == kModeInit && !level_assert) return; // INIT level de-assert: no effect (11.6.1)
    if (icr & (1u << 11)) { // logical destination mode: Keel's guests use physical ids
        kprint("vm %u: vcpu %u: logical-destination IPI not emulated, dropped\n", vm.id,
               from.index);
        return;
    }
    for (u32 i = 0; i < s.vcpus; ++i) {
        const bool self = i == from.index;
        const bool hit = shorthand == 0   ? i == dest
                         : shorthand == 1 ? self
                         : shorthand == 2 ? true
                                          : !self;
        if (hit && !self) deliver(vm, s, from, s.vcpu[i], mode, static_cast<u8>(icr & 0xff));
    }
}

} // namespace

MsrResult vapic_msr(Vm& vm, Vcpu& v, u32 msr, bool write, u64 value, u64* out) {
    switch (msr) {
    case kMsrApicBase:
        if (write) return MsrResult::Refused;
        *out =
            kApicBaseDefault | kApicBaseEnable | kApicBaseExtd | (v.index == 0 ? kApicBaseBsp : 0);
        return MsrResult::Done;
    case kMsrX2apicId:
        if (write) return MsrResult::Refused;
        *out = v.index;
        return MsrResult::Done;
    case kMsrX2apicVersion:
        if (write) return MsrResult::Refused;
        *out = 0x00050014; // version 0x14, 6 LVT entries (11.4.8)
        return MsrResult::Done;
    case kMsrX2apicEoi: return write && value == 0 ? MsrResult::Done : MsrResult::Refused;
    case kMsrX2apicIcr:
        if (write) {
            v.icr = value & ~(1ull << 12); // delivery status always idle (11.6.1)
            send_ipi(vm, v, value);
        }
        *out = v.icr;
        return MsrResult::Done;
    default: return msr >= 0x800 && msr <= 0x8ff ? MsrResult::Refused : MsrResult::NotMine;
    }
}

} // namespace keel::virt
