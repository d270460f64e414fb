// PSCI for guests. vCPUs are pinned: CPU_ON hands the target vCPU to the core the VM
// already owns for it (smp.cpp work loop); CPU_OFF returns that core to its work loop
// (still the VM's); SYSTEM_OFF / SYSTEM_RESET end the whole VM (reset is reported, not
// performed). Virtual MPIDRs are 0..n-1 in Aff0 (VMPIDR_EL2, vcpu_run.cpp).
#include "vpsci.hpp"

#include "vm_arch.hpp"

namespace keel::arm64 {
namespace {

// Function ids (DEN 0022 5.1; SMC64 variants where arguments are addresses).
constexpr u64 kVersion = 0x84000000;
constexpr u64 kCpuOff = 0x84000002;
constexpr u64 kCpuOn32 = 0x84000003, kCpuOn64 = 0xc4000003;
constexpr u64 kAffinityInfo32 = 0x84000004, kAffinityInfo64 = 0xc4000004;
constexpr u64 kMigrateInfoType = 0x84000006;
constexpr u64 kSystemOff = 0x84000008;
constexpr u64 kSystemReset = 0x84000009;
constexpr u64 kFeatures = 0x8400000a;
constexpr u64 kKeelNullCall = 0xc6000000; // SMC64 fast call, vendor-specific hypervisor service 0

constexpr u64 kPsci11 = 0x10001;
constexpr u64 kSuccess = 0;
constexpr u64 kNotSupported = static_cast<u64>(-1);
constexpr u64 kInvalidParameters = static_cast<u64>(-2);
constexpr u64 kDenied = static_cast<u64>(-3);
constexpr u64 kAlreadyOn = static_cast<u64>(-4);
constexpr u64 kTosNotPresent = 2; // MIGRATE_INFO_TYPE: no trusted OS to migrate
constexpr u64 kAffOn = 0, kAffOff = 1;
constexpr u64 kMpidrAff = 0xff00ffffffull;

// The vCPU a guest MPIDR names, or null.
Vcpu* target(Vcpu& v, u64 mpidr) {
    VmContext& a = v.vm->arch;
    mpidr &= kMpidrAff;
    return mpidr < a.nvcpus ? &a.vcpus[mpidr] : nullptr;
}

u64 cpu_on(Vcpu& v, u64 mpidr, u64 entry, u64 context) {
    VmContext& a = v.vm->arch;
    Vcpu* t = target(v, mpidr);
    if (t == nullptr) return kInvalidParameters;
    if (__atomic_load_n(&a.stopping, __ATOMIC_ACQUIRE)) return kDenied;
    u32 off = 0;
    if (!__atomic_compare_exchange_n(&t->on, &off, 1u, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return kAlreadyOn;
    vcpu_reset(*t, entry, context);
    __atomic_fetch_add(&a.running, 1u, __ATOMIC_ACQ_REL);
    hand_vcpu(t->core, *t);
    return kSuccess;
}

} // namespace

Next guest_smccc(Vcpu& v, VmEnd* end) {
    VcpuContext& c = v.ctx;
    stat_inc(v.vm->stats.hypercalls);
    switch (c.x[0]) {
    case kKeelNullCall: c.x[0] = 0; return Next::Resume;
    case kVersion: c.x[0] = kPsci11; return Next::Resume;
    case kFeatures: {
        const u64 fn = c.x[1];
        const bool known = fn == kVersion || fn == kCpuOff || fn == kCpuOn32 || fn == kCpuOn64 ||
                           fn == kAffinityInfo32 || fn == kAffinityInfo64 ||
                           fn == kMigrateInfoType || fn == kSystemOff || fn == kSystemReset ||
                           fn == kFeatures;
        c.x[0] = known ? kSuccess : kNotSupported;
        return Next::Resume;
    }
    case kCpuOn32:
    case kCpuOn64: c.x[0] = cpu_on(v, c.x[1], c.x[2], c.x[3]); return Next::Resume;
    case kAffinityInfo32:
    case kAffinityInfo64: {
        Vcpu* t = target(v, c.x[1]);
        c.x[0] = (t == nullptr || c.x[2] != 0)               ? kInvalidParameters
                 : __atomic_load_n(&t->on, __ATOMIC_ACQUIRE) ? kAffOn
                                                             : kAffOff;
        return Next::Resume;
    }
    case kMigrateInfoType: c.x[0] = kTosNotPresent; return Next::Resume;
    case kCpuOff: return Next::Off;
    case kSystemOff: *end = VmEnd::GuestPowerOff; return Next::Stop;
    case kSystemReset: *end = VmEnd::GuestReset; return Next::Stop;
    default: c.x[0] = kNotSupported; return Next::Resume;
    }
}

} // namespace keel::arm64
