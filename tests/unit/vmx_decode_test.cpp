// Host tests for arch/x86_64/vmx/decode.hpp: the allowed-0/allowed-1 control
// computation (SDM Vol. 3C A.3) and exit-reason / qualification decoding.
#include "arch/x86_64/vmx/decode.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace keel::vmx {
namespace {

// Bochs corei7_skylake_x IA32_VMX_TRUE_PINBASED_CTLS: must-be-1 0x16, may-be-1 0x7f.
constexpr u64 kPin = (0x7full << 32) | 0x16;

TEST(VmxControls, ForcesRequiredBitsAndKeepsWanted) {
    const ControlWord w = compute_control(kPin, 1u << 0 | 1u << 3);
    EXPECT_EQ(w.value, 0x16u | 0x9u);
    EXPECT_EQ(w.forbidden, 0u);
}

TEST(VmxControls, ReportsBitsTheCpuCannotSet) {
    const ControlWord w = compute_control(kPin, 1u << 30 | 1u << 0);
    EXPECT_EQ(w.forbidden, 1u << 30);
    EXPECT_EQ(w.value & (1u << 30), 0u);
}

TEST(VmxControls, TrueMsrLetsDefaultOneBitsBeZero) {
    // Legacy MSR: bits 1,2,4 must be 1; TRUE MSR: allowed-0 cleared for bit 4 only.
    const u64 legacy = (0xffull << 32) | 0x16, true_msr = (0xffull << 32) | 0x06;
    EXPECT_EQ(compute_control(legacy, 0).value, 0x16u);
    EXPECT_EQ(compute_control(true_msr, 0).value, 0x06u);
}

TEST(VmxDecode, ExitReason) {
    const ExitReasonField f = decode_exit_reason(0x80000021u);
    EXPECT_EQ(f.basic, ExitReason::EntryFailGuestState);
    EXPECT_TRUE(f.entry_failure);
    EXPECT_STREQ(exit_reason_name(f.basic), "VM-entry failure due to invalid guest state");
    EXPECT_FALSE(decode_exit_reason(10).entry_failure);
    EXPECT_STREQ(exit_reason_name(decode_exit_reason(10).basic), "CPUID");
}

TEST(VmxDecode, IoQualification) {
    // OUT DX, AL to 0x3f8: size 0 (1 byte), direction 0, DX operand.
    IoQualification q = decode_io_qualification(0x03f80000);
    EXPECT_EQ(q.size, 1);
    EXPECT_FALSE(q.in);
    EXPECT_EQ(q.port, 0x3f8);
    // IN EAX, imm8 0x71; REP INSW string forms.
    q = decode_io_qualification(0x00710000 | 3 | 8 | 64);
    EXPECT_EQ(q.size, 4);
    EXPECT_TRUE(q.in);
    EXPECT_TRUE(q.immediate);
    q = decode_io_qualification(1 | 8 | 16 | 32);
    EXPECT_TRUE(q.string && q.rep);
    EXPECT_EQ(q.size, 2);
}

TEST(VmxDecode, InstructionErrorsAndEntryQualification) {
    EXPECT_STREQ(instruction_error_name(7), "VM entry with invalid control field(s)");
    EXPECT_STREQ(instruction_error_name(8), "VM entry with invalid host-state field(s)");
    EXPECT_STREQ(instruction_error_name(28), "invalid operand to INVEPT/INVVPID");
    EXPECT_STREQ(instruction_error_name(99), "unknown VM-instruction error");
    EXPECT_STREQ(entry_failure_qualification_name(4), "invalid VMCS link pointer");
}

} // namespace
} // namespace keel::vmx
