// A VM as the core sees it: who it is, which cores and which memory it owns, and where
// it is in its life. Arch state (stage-2 tables, vCPU registers) lives in the arch's
// per-VM slot of the same id (arm64: arch/arm64/vm_arch.hpp), by value, in a fixed pool.
//
//   Defined --admit--> Running --guest SYSTEM_OFF / fault--> Destroyed
//      \--check fails--> Rejected
#pragma once

#include "hypervisor/types.hpp"
#include "hypervisor/vm/vm_def.hpp"

namespace keel {

enum class VmState : u32 { Defined = 0, Running, Destroyed, Rejected };
enum class VmEnd : u32 { None = 0, GuestPowerOff, GuestReset, Fault, ControllerStop };

// Counters any of the VM's cores may bump at once: update them with stat_inc().
struct VmStats {
    u32 exits = 0;
    u32 console_lines = 0;
    u32 aborts_injected = 0;
    u32 hypercalls = 0;
};

// Relaxed atomic increment: a statistic orders nothing, but must not lose counts when
// two vCPUs of the VM exit at once.
inline void stat_inc(u32& counter) { __atomic_fetch_add(&counter, 1u, __ATOMIC_RELAXED); }

struct Vm {
    static constexpr u32 kMaxVms = 8;
    static constexpr u64 kRamIpa = 0x40000000; // guest RAM starts where QEMU virt's does

    u16 id = 0; // 1-based; also the pool owner id and the VMID
    VmDef def;
    u32 first_cpu = 0;   // vCPU 0 runs here
    PhysAddr mem_base{}; // host-physical, contiguous, from the partition pool
    u64 mem_size = 0;
    u32 stage2_tables = 0;                           // 4 KiB table pages this VM's stage-2 uses
    u32 state_ = static_cast<u32>(VmState::Defined); // atomic: the VM's core reports the end
    VmEnd end = VmEnd::None;
    VmStats stats;

    [[nodiscard]] GuestPhys ram_ipa() const { return GuestPhys(kRamIpa); }
    [[nodiscard]] VmState state() const {
        return static_cast<VmState>(__atomic_load_n(&state_, __ATOMIC_ACQUIRE));
    }
    void set_state(VmState s) { __atomic_store_n(&state_, static_cast<u32>(s), __ATOMIC_RELEASE); }
};

const char* vm_end_name(VmEnd e);

} // namespace keel
