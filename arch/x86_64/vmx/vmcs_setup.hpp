// VMCS setup helpers (vmcs_setup.cpp). A VMCS must be current (VMPTRLD) before any call.
#pragma once

#include "../virt/vm_context.hpp"
#include "vmcs.hpp"

namespace keel::vmx {

// Control bits (SDM Vol. 3C 25.6-25.8, tables 25-5..25-7, 25-13, 25-15).
inline constexpr u32 kPinExternalInterruptExiting = 1u << 0, kPinNmiExiting = 1u << 3,
                     kPinVirtualNmis = 1u << 5, kPinPreemptionTimer = 1u << 6;
inline constexpr u32 kProcInterruptWindowExiting = 1u << 2, kProcNmiWindowExiting = 1u << 22,
                     kProcHltExiting = 1u << 7, kProcUseIoBitmaps = 1u << 25,
                     kProcUseMsrBitmaps = 1u << 28, kProcActivateSecondary = 1u << 31;
inline constexpr u32 kProc2EnableEpt = 1u << 1, kProc2EnableVpid = 1u << 5,
                     kProc2UnrestrictedGuest = 1u << 7;
inline constexpr u32 kExitHostAddressSpaceSize = 1u << 9, kExitSaveIa32Efer = 1u << 20,
                     kExitLoadIa32Efer = 1u << 21;
inline constexpr u32 kEntryIa32eModeGuest = 1u << 9, kEntryLoadIa32Efer = 1u << 15;

struct Controls {
    u32 pin, proc, proc2, exit, entry;
};

// Computes and writes each control word; prints the word and bits that failed.
[[nodiscard]] bool setup_controls(const Controls& c);
void setup_host_state();
void setup_guest_real_mode(u64 rip, u64 rsp);
// 64-bit guest (SDM Vol. 3C 27.3.1: IA-32e mode guest checks): flat CS (L=1) and data
// segments with b's selectors and GDT, paging from b.cr3, EFER.LME|LMA, RIP and RSP.
void setup_guest_long_mode(const virt::BootState& b);

} // namespace keel::vmx
