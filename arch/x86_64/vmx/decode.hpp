// Pure VMX logic, shared by the hypervisor and the host unit tests: the control
// computation from the capability MSRs (SDM Vol. 3C 25.6 and appendix A.3-A.5) and
// the decoding of exit reasons, exit qualifications and VM-instruction errors.
// Nothing here touches hardware.
#pragma once

#include "../virt/guest_rules.hpp"
#include "hypervisor/types.hpp"

namespace keel::vmx {

using virt::EntryEvent;
using virt::EventType;
using virt::exception_has_error_code;
using virt::xsetbv_valid;

// A control word computed from a capability MSR. A capability MSR holds allowed-0
// settings in bits 31:0 (a 1 there: the control must be 1) and allowed-1 settings
// in bits 63:32 (a 0 there: the control must be 0) (SDM Vol. 3C A.3.1).
struct ControlWord {
    u32 value;     // what to write into the VMCS
    u32 forbidden; // requested bits the CPU cannot set (0 = success)
};

// SDM Vol. 3C 25.6 / A.2: start from the bits we want, force every bit the CPU
// requires, then drop what it cannot do; a wanted bit that got dropped is an error.
// With the TRUE MSRs (IA32_VMX_BASIC bit 55) the default-1 controls we don't want
// stay 0 where allowed, which is why the caller passes the TRUE MSR when it exists.
constexpr ControlWord compute_control(u64 capability, u32 wanted) {
    const u32 must_be_one = static_cast<u32>(capability);
    const u32 may_be_one = static_cast<u32>(capability >> 32);
    return ControlWord{(wanted | must_be_one) & may_be_one, wanted & ~may_be_one};
}

// Basic exit reasons (SDM Vol. 3C appendix C, table C-1).
enum class ExitReason : u16 {
    ExceptionOrNmi = 0,
    ExternalInterrupt = 1,
    TripleFault = 2,
    InitSignal = 3,
    StartupIpi = 4,
    InterruptWindow = 7,
    NmiWindow = 8,
    Cpuid = 10,
    Hlt = 12,
    Vmcall = 18,
    CrAccess = 28,
    IoInstruction = 30,
    Rdmsr = 31,
    Wrmsr = 32,
    EntryFailGuestState = 33,
    EntryFailMsrLoading = 34,
    EntryFailMachineCheck = 41,
    EptViolation = 48,
    EptMisconfig = 49,
    PreemptionTimer = 52,
    Xsetbv = 55,
};

// The exit-reason field (SDM Vol. 3C 25.9.1, table 25-17): bits 15:0 basic reason,
// bit 31 "VM-entry failure".
struct ExitReasonField {
    ExitReason basic;
    bool entry_failure;
};
constexpr ExitReasonField decode_exit_reason(u32 raw) {
    return ExitReasonField{static_cast<ExitReason>(raw & 0xffff), (raw >> 31) != 0};
}
const char* exit_reason_name(ExitReason r);

// Exit qualification for I/O instructions (SDM Vol. 3C 28.2.1, table 28-5).
struct IoQualification {
    u8 size; // 1, 2 or 4 bytes
    bool in; // direction: 1 = IN
    bool string;
    bool rep;
    bool immediate; // port given as an immediate operand
    u16 port;
};
constexpr IoQualification decode_io_qualification(u64 q) {
    return IoQualification{static_cast<u8>((q & 7) + 1), ((q >> 3) & 1) != 0,
                           ((q >> 4) & 1) != 0,          ((q >> 5) & 1) != 0,
                           ((q >> 6) & 1) != 0,          static_cast<u16>((q >> 16) & 0xffff)};
}

// Exit qualification for control-register accesses (SDM Vol. 3C 28.2.1, table 28-3).
enum class CrAccessType : u8 { MovToCr = 0, MovFromCr = 1, Clts = 2, Lmsw = 3 };
struct CrQualification {
    u8 cr; // 0, 3, 4 or 8
    CrAccessType type;
    u8 gpr;          // MOV: general register, architectural number (0 RAX .. 4 RSP .. 15 R15)
    u16 lmsw_source; // LMSW: the source data
};
constexpr CrQualification decode_cr_qualification(u64 q) {
    return CrQualification{static_cast<u8>(q & 0xf), static_cast<CrAccessType>((q >> 4) & 3),
                           static_cast<u8>((q >> 8) & 0xf), static_cast<u16>((q >> 16) & 0xffff)};
}

// Exit qualification for EPT violations (SDM Vol. 3C 28.2.1, table 28-7).
struct EptViolation {
    bool read, write, fetch;             // the access that faulted
    bool readable, writable, executable; // what the EPT entry allowed
    bool linear_valid;                   // a guest linear address is in the VMCS
    bool linear_access;  // the access was to the linear address (not a paging-structure walk)
    bool nmi_unblocking; // bit 12: IRET unblocked NMIs before the fault
};
constexpr EptViolation decode_ept_violation(u64 q) {
    return EptViolation{
        (q & 1) != 0,   (q & 2) != 0,  (q & 4) != 0,   (q & 8) != 0,
        (q & 16) != 0,  (q & 32) != 0, (q & 128) != 0, (q & 128) != 0 && (q & 256) != 0,
        (q & 4096) != 0};
}

// Exit qualification of a VM-entry failure (SDM Vol. 3C 27.8 "VM-entry failures
// during or after loading guest state"): why the entry failed.
const char* entry_failure_qualification_name(u64 q);

// VM-instruction error numbers (SDM Vol. 3C 31.4, table 31-1).
const char* instruction_error_name(u32 error);

} // namespace keel::vmx
