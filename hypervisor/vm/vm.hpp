// A VM: who it is, which cores and which memory it owns, where it is in its life, what
// it boots, and its arch state (second-stage tables, vCPUs, emulated devices) embedded
// by value (<arch/vm.hpp>). Every Vm lives in the VM manager's fixed table
// (vm_manager.hpp); only the manager changes `state`, cores or memory.
//
// What other cores may touch, and how: the VM's own cores bump `stats` (stat_inc), write
// console output through `console`, and report the VM's end once (report_end); the
// manager reaps that end on its own core (VmManager::poll).
#pragma once

#include <arch/vm.hpp>

#include "hypervisor/vm/lifecycle.hpp"
#include "hypervisor/vm/vm_types.hpp"

namespace keel {

class GuestPci;

struct Vm {
    static constexpr u32 kMaxVms = 8;
    static constexpr usize kLabelMax = 80;

    // The byte arrays are cleared with memset (why: GuestImage's constructor).
    Vm() {
        memset(kernel_head, 0, sizeof kernel_head);
        memset(label, 0, sizeof label);
    }

    u16 id = 0; // 1-based; also the pool owner id and the VMID
    u64 cpu_mask = 0;
    u32 first_cpu = 0;   // vCPU 0 runs here
    PhysAddr mem_base{}; // host-physical, contiguous, from the partition pool
    u64 mem_size = 0;
    u32 stage2_tables = 0; // 4 KiB table pages this VM's second stage uses
    VmState state = VmState::Free;
    VmEnd end = VmEnd::None; // valid once the manager has reaped the end
    VmStats stats;
    GuestImage image;
    // The kernel's first bytes, captured by the manager as they were loaded: the arch
    // reads the boot header from here, never back out of guest RAM.
    u8 kernel_head[GuestImage::kHeadBytes];
    char label[kLabelMax];               // how messages name the VM's definition
    const char* initial_input = nullptr; // console input fed once the guest opens its UART
    ConsoleSink* console = nullptr;      // besides the hypervisor console; may be null
    GuestPci* pci = nullptr; // its assigned PCIe functions' config space; null without any
    arch::VmContext arch;

    // Where the VM's RAM starts in its guest-physical space (the arch decides; fixed once
    // the VM has started).
    [[nodiscard]] GuestPhys ram_ipa() const { return arch::guest_ram_base(arch); }

    // Called once by the arch, on the core that saw the VM's last vCPU leave: nothing of
    // the VM runs any more. The manager then reaps it (second stage, memory, cores).
    void report_end(VmEnd why) {
        end_pending_ = why;
        __atomic_store_n(&ended_, 1u, __ATOMIC_RELEASE);
    }
    [[nodiscard]] bool end_reported() const { return __atomic_load_n(&ended_, __ATOMIC_ACQUIRE); }
    [[nodiscard]] VmEnd reported_end() const { return end_pending_; }
    void console_out(const char* bytes, usize len) {
        if (console != nullptr) console->out(id, bytes, len);
    }

private:
    friend class VmManager;
    u32 ended_ = 0; // atomic
    VmEnd end_pending_ = VmEnd::None;
};

} // namespace keel
