// A partition VM's x86 state, by value in a fixed slot per VM id (image memory, identity
// mapped): its second stage (EPT under VMX, NPT under SVM), emulated devices, and per
// vCPU a control page (VMCS or VMCB), GPRs and state. Embedded by value in every
// keel::Vm (<arch/vm.hpp>); the VM layer does not know which backend runs it.
// Lifecycle (arch/vm_interface.hpp): vm_create on the boot core builds the second stage,
// vm_prepare writes the raw guest's page tables; vm_start hands the VM to each of its
// cores (vCPU n on the n-th lowest core of `cpus:`), which run vcpu_run_until_stopped():
// vCPU 0 at once, the others once the guest's INIT/SIPI (vapic.cpp) starts them. The last
// core out reports the end.
#pragma once

#include "../ept_format.hpp"
#include "guest_platform.hpp"
#include "guest_regs.hpp"
#include "hypervisor/mm/page_table.hpp"
#include "hypervisor/mm/table_pool.hpp"
#include "hypervisor/spinlock.hpp"
#include "ioapic.hpp"
#include "lapic.hpp"
#include "pit.hpp"
#include "rtc.hpp"
#include "uart.hpp"

namespace keel {
struct Vm;
}

namespace keel::virt {

enum class Hypercall : u32 { Null = 0, Echo = 1, TimerOneShot = 2, PowerOff = 3 };
inline constexpr u32 kMaxVcpus = 4;
// A multi-vCPU VM's GPA [0, 2 MiB) aliases the first 2 MiB of its RAM, so that a SIPI
// vector (a page below 1 MiB) reaches the guest's AP start code, as low memory does on a PC.
inline constexpr u64 kLowAliasSize = 2 * 1024 * 1024;

// A vCPU's life (SDM Vol. 3A 9.4 MP initialization, as the guest's APs see it):
//   Reset --INIT--> WaitSipi --SIPI (sender counts it live)--> Starting --its core--> Running
//   Running --HLT nothing can wake / VM stop--> Stopped.   vCPU 0 starts Running.
enum class VcpuRun : u32 { Reset = 0, WaitSipi, Starting, Running, Stopped };

// PowerOff, Reset and Fault end the whole VM; VcpuOff stops only this vCPU (the VM ends
// when its last started vCPU has stopped).
enum class ExitAction : u8 { Resume, PowerOff, Reset, Fault, VcpuOff };
enum class MsrResult : u8 { NotMine, Done, Refused };

// Second-stage table pages for all VMs come from one fixed pool inside the image (vm_arch.cpp).
using StageTableMemory = mm::PoolTables;

struct GuestConsole {
    char line[120];
    u32 len;
};

struct Vcpu {
    GuestRegs regs;
    u32 index;          // vCPU number = its initial (x2)APIC id
    u32 run;            // atomic VcpuRun: other vCPUs' cores send it INIT/SIPI
    u8 sipi_vector;     // valid from Starting on
    u64 pat;            // the guest's IA32_PAT (VMX: emulated; SVM: also the VMCB's G_PAT)
    u64 xcr0;           // last validated XSETBV value
    u64 timer_deadline; // TSC; valid while timer_armed (the test guests' one-shot hypercall)
    bool timer_armed;
    bool timer_fired; // hlt_exit woke on that one-shot: the caller injects kTimerVector
    u32 nmi_pending;  // atomic: an NMI IPI waits for delivery
    // SVM keeps no NMI blocking for an injected NMI (VMX has it in the guest
    // interruptibility state): from the injection until the handler's IRET has run the
    // backend holds further NMIs itself (svm/vcpu_run.cpp, the IRET intercept).
    bool nmi_blocked;
    bool nmi_iret;           // the IRET intercept fired: NMIs unblock at the next exit (IRET ran)
    Lapic apic;              // the virtual local APIC (lapic.hpp)
    bool apic_off;           // IA32_APIC_BASE.EN clear
    u32 external_interrupts; // physical interrupts that exited the guest (SVM: the kick)
    u64 first_entry_tsc;     // the core's TSC just before the first VM entry (boot benchmark)
    // Second-stage shootdown (vm_unmap_device): in_guest is set before the entry's check of
    // VmContext::stage2_gen and cleared after the exit; stage2_seen is the generation this
    // vCPU's next entry has flushed for (atomics).
    u32 in_guest;
    u32 stage2_seen;
    GuestConsole console;
    // Taken over from a live update's record while it ran (vm_adopt.cpp): its next run goes on
    // from its control page as built from the record, without a new set-up or core reset.
    bool adopted;
};

// The vCPU a core runs: vCPU n on the n-th lowest core of the VM's `cpus:` mask.
constexpr u32 vcpu_index_on(u64 cpu_mask, u32 core) {
    return static_cast<u32>(__builtin_popcountll(cpu_mask & ((1ull << core) - 1)));
}
// Its inverse: the core vCPU n runs on (64 when the mask has fewer than n + 1 cores).
constexpr u32 core_of_vcpu(u64 cpu_mask, u32 n) {
    for (u32 core = 0; core < 64; ++core)
        if ((cpu_mask >> core & 1) != 0 && n-- == 0) return core;
    return 64;
}

// vCPU 0's first state (vm_prepare): 64-bit mode, flat segments from the GDT at gdt_base
// (selectors cs and ds), paging from cr3, and the four argument registers (raw guests:
// VM id, RAM base, RAM size, mode; Linux: RSI = the zero page, the rest 0).
struct BootState {
    u64 rip, rsp, cr3;
    u64 rdi, rsi, rdx, rcx;
    u64 gdt_base;
    u16 gdt_limit, cs, ds;
};

struct VmContext {
    alignas(4096) u8 control[kMaxVcpus][4096]; // per vCPU: the VMCS (VMX) or VMCB (SVM)
    u8 scratch[kScratchSize];                  // the scratch device's registers (one device per VM)
    StageTableMemory tables;
    mm::PageTable<x86::EptFormat> ept{tables}; // VMX
    mm::PageTable<x86::NptFormat> npt{tables}; // SVM
    u64 stage2 = 0;                            // VMX: the EPTP; SVM: the nested CR3 (the NPT root)
    u64 ram_base = kRawRamBase;                // guest-physical start of RAM (Linux: 0)
    bool low_alias = false;                    // GPA [0, kLowAliasSize) maps the RAM's start
    BootState boot{};                          // vCPU 0's entry state (vm_prepare)
    u32 vcpus = 0;                             // one per core of `cpus:`
    u32 live = 0;         // atomic: vCPUs started (SIPI counted) and not yet stopped
    u32 cores_active = 0; // atomic: cores still inside vcpu_run_until_stopped
    u32 stop = 0;         // atomic: the VM is ending (power-off, fault, last vCPU stopped)
    u32 faulted = 0;      // atomic: some vCPU stopped with a fault
    u32 forced = 0;       // atomic: the controller forced the stop
    u32 reset = 0;        // atomic: the guest asked for a reset (the VM ends as GuestReset)
    u32 stage2_gen = 0;   // atomic: bumped when a second-stage mapping goes (vm_unmap_device)
    // The emulated platform devices, shared by the VM's vCPUs under dev_lock (devices.cpp):
    // COM1 with its console input queue, the I/O APIC, the PIT's channel 2.
    SpinLock dev_lock;
    Uart uart;
    Ioapic ioapic;
    Pit pit;
    Rtc rtc;
    const char* pending_input = nullptr; // the definition's input, fed as the queue drains
    char rx_queue[256];
    u32 rx_head = 0, rx_count = 0;
    u32 rx_waiting = 0; // atomic: rx_count != 0 or pending_input (checked without the lock)
    Vcpu vcpu[kMaxVcpus];
};

// Runs this core's vCPU of the VM (waiting for its SIPI first unless it is vCPU 0)
// until the VM ends, with the backend report_features chose (vcpu_run.cpp); the last of
// the VM's cores reports the end (Vm::report_end), and the VM manager tears the second
// stage down.
void vcpu_run_until_stopped(Vm& vm);

} // namespace keel::virt
