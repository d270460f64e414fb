// Host tests for the MMIO instruction decoder (arch/x86_64/virt/mmio_decode.hpp, Zydis)
// and the exit-qualification value types added for partition VMs (decode.hpp).
#include "arch/x86_64/virt/mmio_decode.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "arch/x86_64/vmx/decode.hpp"

namespace keel::vmx {
namespace {

using namespace keel::virt;

MmioInsn decode(std::initializer_list<u8> bytes, CpuMode mode = CpuMode::Long64) {
    std::vector<u8> b(bytes);
    Result<MmioInsn> r = decode_mmio(b.data(), b.size(), mode);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : MmioInsn{};
}

TEST(MmioDecode, MovStoresAndLoads) {
    MmioInsn m = decode({0x48, 0x89, 0x58, 0x08}); // mov [rax+8], rbx
    EXPECT_EQ(m.op, MmioOp::Store);
    EXPECT_EQ(m.width, 8);
    EXPECT_EQ(m.reg, 3);
    EXPECT_EQ(m.length, 4);
    m = decode({0x8b, 0x0f}); // mov ecx, [rdi]
    EXPECT_EQ(m.op, MmioOp::Load);
    EXPECT_EQ(m.width, 4);
    EXPECT_EQ(m.reg, 1);
    EXPECT_EQ(mmio_load_result(m, ~0ull, 0x89abcdef), 0x89abcdefull); // zero-extends
    m = decode({0x66, 0x44, 0x8b, 0x07});                             // mov r8w, [rdi]
    EXPECT_EQ(m.reg, 8);
    EXPECT_EQ(m.width, 2);
    EXPECT_EQ(mmio_load_result(m, ~0ull, 0xbeef), 0xffffffffffffbeefull);
    m = decode({0x8a, 0x27}); // mov ah, [rdi]
    EXPECT_TRUE(m.high8);
    EXPECT_EQ(m.reg, 0);
    EXPECT_EQ(mmio_load_result(m, 0x1111, 0xc3), 0xc311ull);
    m = decode({0x88, 0x3f}); // mov [rdi], bh
    EXPECT_TRUE(m.high8);
    EXPECT_EQ(m.reg, 3);
    EXPECT_EQ(mmio_store_value(m, 0xabcd), 0xabull);
    m = decode({0x40, 0x88, 0x37}); // mov [rdi], sil (REX: not DH)
    EXPECT_FALSE(m.high8);
    EXPECT_EQ(m.reg, 6);
}

TEST(MmioDecode, Immediates) {
    MmioInsn m = decode({0x48, 0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff}); // mov qword [rdi], -2
    EXPECT_EQ(m.op, MmioOp::Store);
    EXPECT_EQ(m.reg, kNoRegister);
    EXPECT_EQ(m.width, 8);
    EXPECT_EQ(mmio_store_value(m, 0), 0xfffffffffffffffeull);
    m = decode({0xc6, 0x07, 0x5a}); // mov byte [rdi], 0x5a
    EXPECT_EQ(m.width, 1);
    EXPECT_EQ(mmio_store_value(m, 0), 0x5aull);
    m = decode({0x66, 0xc7, 0x07, 0x34, 0x12}); // mov word [rdi], 0x1234
    EXPECT_EQ(m.width, 2);
    EXPECT_EQ(m.length, 5);
    EXPECT_EQ(mmio_store_value(m, 0), 0x1234ull);
}

TEST(MmioDecode, Extensions) {
    MmioInsn m = decode({0x48, 0x0f, 0xbe, 0x07}); // movsx rax, byte [rdi]
    EXPECT_EQ(m.extend, MmioExtend::Sign);
    EXPECT_EQ(m.width, 1);
    EXPECT_EQ(mmio_load_result(m, 0, 0x80), 0xffffffffffffff80ull);
    m = decode({0x0f, 0xb7, 0x07}); // movzx eax, word [rdi]
    EXPECT_EQ(m.extend, MmioExtend::Zero);
    EXPECT_EQ(mmio_load_result(m, ~0ull, 0x8001), 0x8001ull);
    m = decode({0x0f, 0xbf, 0x07}); // movsx eax, word [rdi]
    EXPECT_EQ(mmio_load_result(m, ~0ull, 0x8001), 0xffff8001ull);
    m = decode({0x48, 0x63, 0x07}); // movsxd rax, dword [rdi]
    EXPECT_EQ(m.extend, MmioExtend::Sign);
    EXPECT_EQ(mmio_load_result(m, 0, 0x80000000), 0xffffffff80000000ull);
}

TEST(MmioDecode, Stos) {
    MmioInsn m = decode({0xf3, 0xab}); // rep stosd
    EXPECT_TRUE(m.string && m.rep);
    EXPECT_EQ(m.width, 4);
    EXPECT_EQ(m.length, 2);
    m = decode({0x48, 0xab}); // stosq
    EXPECT_TRUE(m.string && !m.rep);
    EXPECT_EQ(m.width, 8);
    m = decode({0xaa});
    EXPECT_EQ(m.width, 1);
}

TEST(MmioDecode, RefusesWhatItCannotEmulate) {
    const u8 add[] = {0x01, 0x07};          // add [rdi], eax: read-modify-write
    const u8 movs[] = {0xa5};               // movsd
    const u8 movaps[] = {0x0f, 0x28, 0x07}; // vector load
    EXPECT_EQ(decode_mmio(add, sizeof add, CpuMode::Long64).status(), Status::Unsupported);
    EXPECT_EQ(decode_mmio(movs, sizeof movs, CpuMode::Long64).status(), Status::Unsupported);
    EXPECT_EQ(decode_mmio(movaps, sizeof movaps, CpuMode::Long64).status(), Status::Unsupported);
    const u8 truncated[] = {0x48, 0xc7};
    EXPECT_FALSE(decode_mmio(truncated, sizeof truncated, CpuMode::Long64).ok());
}

TEST(MmioDecode, ProtectedMode32) {
    MmioInsn m = decode({0x89, 0x18}, CpuMode::Protected32); // mov [eax], ebx
    EXPECT_EQ(m.op, MmioOp::Store);
    EXPECT_EQ(m.reg, 3);
    EXPECT_EQ(m.width, 4);
}

TEST(VmxQualifications, CrAccess) {
    // MOV to CR4 from RAX: CR 4, type 0, GPR 0 (SDM Vol. 3C table 28-3).
    CrQualification q = decode_cr_qualification(0x4);
    EXPECT_EQ(q.cr, 4);
    EXPECT_EQ(q.type, CrAccessType::MovToCr);
    EXPECT_EQ(q.gpr, 0);
    q = decode_cr_qualification((1u << 4) | (12u << 8) | 3); // MOV from CR3 to R12
    EXPECT_EQ(q.type, CrAccessType::MovFromCr);
    EXPECT_EQ(q.gpr, 12);
    q = decode_cr_qualification((3u << 4) | (0x1234u << 16));
    EXPECT_EQ(q.type, CrAccessType::Lmsw);
    EXPECT_EQ(q.lmsw_source, 0x1234);
}

TEST(VmxQualifications, EptViolation) {
    // The Bochs run's read beyond RAM: 0x181 = read, linear valid, linear access.
    EptViolation e = decode_ept_violation(0x181);
    EXPECT_TRUE(e.read);
    EXPECT_FALSE(e.write || e.fetch || e.readable);
    EXPECT_TRUE(e.linear_valid && e.linear_access);
    e = decode_ept_violation(0x2 | 0x8 | 0x20); // write to a read+execute page
    EXPECT_TRUE(e.write && e.readable && e.executable && !e.writable);
    EXPECT_FALSE(decode_ept_violation(0x2).linear_access);
}

TEST(VmxQualifications, EntryEventsAndXsetbv) {
    EXPECT_EQ((EntryEvent{13, EventType::HardwareException, true}.encode()), 0x80000b0du);
    EXPECT_EQ((EntryEvent{0x20, EventType::ExternalInterrupt, false}.encode()), 0x80000020u);
    EXPECT_TRUE(exception_has_error_code(13));
    EXPECT_FALSE(exception_has_error_code(6));
    const u64 supported = 0xe7; // x87 SSE AVX + AVX-512
    EXPECT_TRUE(xsetbv_valid(0, 3, supported));
    EXPECT_TRUE(xsetbv_valid(0, 7, supported));
    EXPECT_FALSE(xsetbv_valid(0, 2, supported));      // no x87
    EXPECT_FALSE(xsetbv_valid(0, 5, supported));      // AVX without SSE
    EXPECT_FALSE(xsetbv_valid(1, 3, supported));      // XCR1
    EXPECT_FALSE(xsetbv_valid(0, 0x23, supported));   // part of AVX-512
    EXPECT_FALSE(xsetbv_valid(0, 0x8003, supported)); // unsupported bit
    EXPECT_TRUE(xsetbv_valid(0, 0xe7, supported));
}

} // namespace
} // namespace keel::vmx
