// Host tests for the SVM backend's own instruction decode (arch/x86_64/svm/insn_length.hpp):
// without NRIPS the hypervisor finds the length of the intercepted instruction itself. The
// encodings are the manuals' (SDM Vol. 2 opcode tables; AMD APM Vol. 3 VMMCALL 0F 01 D9).
#include "arch/x86_64/svm/insn_length.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace keel::svm {
namespace {

using virt::CpuMode;

Result<u8> len_of(std::initializer_list<u8> bytes, Intercepted what,
                  CpuMode mode = CpuMode::Long64) {
    std::vector<u8> b(bytes);
    return intercepted_length(b.data(), b.size(), mode, what);
}

TEST(SvmInsnLength, PlainEncodings) {
    EXPECT_EQ(len_of({0x0f, 0xa2}, Intercepted::Cpuid).value(), 2);
    EXPECT_EQ(len_of({0x0f, 0x32}, Intercepted::Rdmsr).value(), 2);
    EXPECT_EQ(len_of({0x0f, 0x30}, Intercepted::Wrmsr).value(), 2);
    EXPECT_EQ(len_of({0xf4}, Intercepted::Hlt).value(), 1);
    EXPECT_EQ(len_of({0x0f, 0x01, 0xd9}, Intercepted::Vmmcall).value(), 3);
    EXPECT_EQ(len_of({0x0f, 0x01, 0xd1}, Intercepted::Xsetbv).value(), 3);
}

TEST(SvmInsnLength, PrefixesCount) {
    // An operand-size prefix and a REX prefix the CPU ignores still advance RIP.
    EXPECT_EQ(len_of({0x66, 0x0f, 0xa2}, Intercepted::Cpuid).value(), 3);
    EXPECT_EQ(len_of({0x48, 0x0f, 0x32}, Intercepted::Rdmsr).value(), 3);
    // The same bytes in 32-bit protected and real mode (an AP's start code).
    EXPECT_EQ(len_of({0x0f, 0x30}, Intercepted::Wrmsr, CpuMode::Protected32).value(), 2);
    EXPECT_EQ(len_of({0xf4}, Intercepted::Hlt, CpuMode::Real16).value(), 1);
}

TEST(SvmInsnLength, RefusesAnotherInstruction) {
    // VMCALL (Intel's, 0F 01 C1) is not the VMMCALL the exit named; nor is a NOP a HLT.
    EXPECT_EQ(len_of({0x0f, 0x01, 0xc1}, Intercepted::Vmmcall).status(), Status::Corrupt);
    EXPECT_EQ(len_of({0x90}, Intercepted::Hlt).status(), Status::Corrupt);
    EXPECT_EQ(len_of({0x0f}, Intercepted::Cpuid).status(), Status::Corrupt); // truncated
}

TEST(SvmCr4Write, SourceRegisterAndLength) {
    const u8 rax[] = {0x0f, 0x22, 0xe0}; // mov cr4, rax
    Result<CrWrite> w = decode_cr4_write(rax, sizeof rax, CpuMode::Long64);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w.value().gpr, 0);
    EXPECT_EQ(w.value().length, 3);
    const u8 r9[] = {0x41, 0x0f, 0x22, 0xe1}; // mov cr4, r9 (REX.B)
    w = decode_cr4_write(r9, sizeof r9, CpuMode::Long64);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w.value().gpr, 9);
    EXPECT_EQ(w.value().length, 4);
    const u8 ebx32[] = {0x0f, 0x22, 0xe3}; // mov cr4, ebx (32-bit code)
    w = decode_cr4_write(ebx32, sizeof ebx32, CpuMode::Protected32);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w.value().gpr, 3);
}

TEST(SvmCr4Write, RefusesOtherInstructions) {
    const u8 cr0[] = {0x0f, 0x22, 0xc0}; // mov cr0, rax
    EXPECT_EQ(decode_cr4_write(cr0, sizeof cr0, CpuMode::Long64).status(), Status::Corrupt);
    const u8 read[] = {0x0f, 0x20, 0xe0}; // mov rax, cr4
    EXPECT_EQ(decode_cr4_write(read, sizeof read, CpuMode::Long64).status(), Status::Corrupt);
}

} // namespace
} // namespace keel::svm
