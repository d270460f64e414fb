// A partition VM's VT-x state, by value in a fixed slot per VM id (image memory,
// identity mapped): its EPT, and its one vCPU's VMCS, GPRs and emulated devices.
// Lifecycle (arch_vm.hpp): vm_create on the boot core builds EPT and loads the guest;
// vm_start hands the VM to its core, which runs vcpu_run_until_stopped().
#pragma once

#include "../ept_format.hpp"
#include "hypervisor/mm/page_table.hpp"
#include "vm_state.hpp"

namespace keel {
struct Vm;
}

namespace keel::vmx {

// The guest-visible machine (docs/x86-vmx.md): RAM at Vm::kRamIpa, a scratch MMIO
// register window that echoes writes, COM1, and the Keel hypercalls.
inline constexpr u64 kScratchBase = 0xfed00000, kScratchSize = 4096;
inline constexpr u8 kTimerVector = 0x20;
enum class Hypercall : u32 { Null = 0, Echo = 1, TimerOneShot = 2, PowerOff = 3 };

// EPT table pages for all VMs come from a fixed pool inside the image (vm_arch.cpp).
class EptTableMemory final : public mm::TableMemory {
public:
    u64* alloc_table(PhysAddr* phys) override;
    void free_table(PhysAddr phys) override;
    u64* table_ptr(PhysAddr phys) override { return reinterpret_cast<u64*>(phys.raw()); }
    [[nodiscard]] usize tables_in_use() const override { return in_use_; }

private:
    usize in_use_ = 0;
};

struct GuestConsole {
    char line[120];
    u32 len;
};

struct Vcpu {
    GuestRegs regs;
    u64 pat;            // the guest's IA32_PAT (emulated; the hardware PAT stays the host's)
    u64 xcr0;           // last validated XSETBV value
    u64 timer_deadline; // TSC; valid while timer_armed
    bool timer_armed;
    u32 external_interrupts;
    GuestConsole console;
    u8 scratch[kScratchSize]; // the scratch device's registers
};

struct VmSlot {
    alignas(4096) u8 vmcs[4096];
    EptTableMemory tables;
    mm::PageTable<x86::EptFormat> ept{tables};
    u64 eptp = 0;
    u64 guest_cr3 = 0; // the guest page tables vm_create wrote
    Vcpu vcpu;
};

VmSlot& vm_slot(const Vm& vm);
// Runs the VM's vCPU on this core until the VM ends, then tears its arch state down
// and calls keel::vm_stopped() (this core's VMX operation stays on).
void vcpu_run_until_stopped(Vm& vm);

} // namespace keel::vmx
