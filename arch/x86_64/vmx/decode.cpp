// Names for the VMX numbers the hypervisor prints (see decode.hpp). Host-testable.
#include "decode.hpp"

namespace keel::vmx {

const char* exit_reason_name(ExitReason r) {
    switch (r) {
    case ExitReason::ExceptionOrNmi: return "exception or NMI";
    case ExitReason::ExternalInterrupt: return "external interrupt";
    case ExitReason::TripleFault: return "triple fault";
    case ExitReason::InitSignal: return "INIT signal";
    case ExitReason::StartupIpi: return "start-up IPI";
    case ExitReason::InterruptWindow: return "interrupt window";
    case ExitReason::NmiWindow: return "NMI window";
    case ExitReason::Cpuid: return "CPUID";
    case ExitReason::Hlt: return "HLT";
    case ExitReason::Vmcall: return "VMCALL";
    case ExitReason::CrAccess: return "control-register access";
    case ExitReason::IoInstruction: return "I/O instruction";
    case ExitReason::Rdmsr: return "RDMSR";
    case ExitReason::Wrmsr: return "WRMSR";
    case ExitReason::EntryFailGuestState: return "VM-entry failure due to invalid guest state";
    case ExitReason::EntryFailMsrLoading: return "VM-entry failure due to MSR loading";
    case ExitReason::EntryFailMachineCheck: return "VM-entry failure due to machine-check event";
    case ExitReason::EptViolation: return "EPT violation";
    case ExitReason::EptMisconfig: return "EPT misconfiguration";
    case ExitReason::PreemptionTimer: return "VMX-preemption timer expired";
    case ExitReason::Xsetbv: return "XSETBV";
    }
    return "unhandled exit reason";
}

const char* entry_failure_qualification_name(u64 q) {
    switch (q) {
    case 0: return "default (a guest-state check failed)";
    case 2: return "failure loading PDPTEs";
    case 3: return "NMI injection blocked by STI";
    case 4: return "invalid VMCS link pointer";
    }
    return "not used";
}

const char* instruction_error_name(u32 error) {
    // SDM Vol. 3C 31.4, table 31-1 "VM-Instruction Error Numbers".
    static const char* const kNames[] = {
        "no error",
        "VMCALL executed in VMX root operation",
        "VMCLEAR with invalid physical address",
        "VMCLEAR with VMXON pointer",
        "VMLAUNCH with non-clear VMCS",
        "VMRESUME with non-launched VMCS",
        "VMRESUME after VMXOFF",
        "VM entry with invalid control field(s)",
        "VM entry with invalid host-state field(s)",
        "VMPTRLD with invalid physical address",
        "VMPTRLD with VMXON pointer",
        "VMPTRLD with incorrect VMCS revision identifier",
        "VMREAD/VMWRITE from/to unsupported VMCS component",
        "VMWRITE to read-only VMCS component",
        "(reserved)",
        "VMXON executed in VMX root operation",
        "VM entry with invalid executive-VMCS pointer",
        "VM entry with non-launched executive VMCS",
        "VM entry with executive-VMCS pointer not VMXON pointer",
        "VMCALL with non-clear VMCS",
        "VMCALL with invalid VM-exit control fields",
        "(reserved)",
        "VMCALL with incorrect MSEG revision identifier",
        "VMXOFF under dual-monitor treatment of SMIs and SMM",
        "VMCALL with invalid SMM-monitor features",
        "VM entry with invalid VM-execution control fields in executive VMCS",
        "VM entry with events blocked by MOV SS",
        "(reserved)",
        "invalid operand to INVEPT/INVVPID",
    };
    return error < sizeof(kNames) / sizeof(kNames[0]) ? kNames[error]
                                                      : "unknown VM-instruction error";
}

} // namespace keel::vmx
