// The CPUID answers that follow a vCPU's own CR4 and XCR0 (arch/x86_64/virt/guest_rules.hpp),
// against the SDM: Vol. 2A CPUID (leaf 1 ECX 27 OSXSAVE mirrors CR4.OSXSAVE, bit 18; leaf 7
// ECX 4 OSPKE mirrors CR4.PKE, bit 22) and Vol. 1 13.4.3 (the compacted XSAVE format).
#include <gtest/gtest.h>

#include "arch/x86_64/virt/guest_rules.hpp"

using namespace keel;
using namespace keel::virt;

namespace {

constexpr u64 kCr4Osxsave = 1ull << 18, kCr4Pke = 1ull << 22;
constexpr u32 kOsxsave = 1u << 27, kOspke = 1u << 4;

TEST(X86GuestRules, OsxsaveFollowsTheGuestsCr4) {
    // The hypervisor's own CPUID says OSXSAVE (its CR4 has it); a guest without it must not.
    const u32 host_ecx = 0xfffa3203u | kOsxsave;
    EXPECT_EQ(cpuid_ecx_os_bits(1, 0, host_ecx, 0), host_ecx & ~kOsxsave);
    EXPECT_EQ(cpuid_ecx_os_bits(1, 0, host_ecx & ~kOsxsave, kCr4Osxsave), host_ecx);
    // The sub-leaf does not matter for leaf 1; nothing else in ECX changes.
    EXPECT_EQ(cpuid_ecx_os_bits(1, 5, 0, kCr4Osxsave), kOsxsave);
}

TEST(X86GuestRules, OspkeFollowsTheGuestsCr4) {
    EXPECT_EQ(cpuid_ecx_os_bits(7, 0, 0x28u | kOspke, 0), 0x28u);
    EXPECT_EQ(cpuid_ecx_os_bits(7, 0, 0x8u, kCr4Pke), 0x8u | kOspke);
    // Only sub-leaf 0 carries OSPKE; other leaves pass through untouched.
    EXPECT_EQ(cpuid_ecx_os_bits(7, 1, kOspke, 0), kOspke);
    EXPECT_EQ(cpuid_ecx_os_bits(0xd, 0, 0xa88u, 0), 0xa88u);
    EXPECT_EQ(cpuid_ecx_os_bits(0x80000001, 0, kOsxsave, 0), kOsxsave);
}

// A Skylake-SP's components (CPUID.(0DH,i) EAX): AVX 256, BNDREGS 64, BNDCSR 64, opmask 64,
// ZMM_Hi256 512, Hi16_ZMM 1024, PKRU 8; none asks for 64-byte alignment.
constexpr XsaveComponent kSkx[] = {{0, false},  {0, false},  {256, false}, {64, false},
                                   {64, false}, {64, false}, {512, false}, {1024, false},
                                   {0, false},  {8, false}};
constexpr u32 kSkxCount = sizeof kSkx / sizeof kSkx[0];

TEST(X86GuestRules, CompactedSizeIsLegacyHeaderAndTheEnabledComponents) {
    // x87 and SSE live in the 512-byte legacy region: only the 64-byte header follows.
    EXPECT_EQ(xsave_compacted_size(0x3, kSkx, kSkxCount), 576u);
    EXPECT_EQ(xsave_compacted_size(0x7, kSkx, kSkxCount), 576u + 256u);
    // x87|SSE|AVX|AVX-512 (0xe7): 576 + 256 + 64 + 512 + 1024. The standard format would
    // put Hi16_ZMM at 0x680 and end at 2688; the compacted one leaves no gap for MPX.
    EXPECT_EQ(xsave_compacted_size(0xe7, kSkx, kSkxCount), 2432u);
    EXPECT_EQ(xsave_compacted_size(0x2e7, kSkx, kSkxCount), 2440u);
    // Bits beyond the table are ignored.
    EXPECT_EQ(xsave_compacted_size(0x7 | (1ull << 40), kSkx, kSkxCount), 832u);
}

TEST(X86GuestRules, CompactedSizeAlignsComponentsThatAskForIt) {
    // Component 2 ends at 584; component 3 must start on a 64-byte boundary: 640 + 64.
    const XsaveComponent c[] = {{0, false}, {0, false}, {8, false}, {64, true}};
    EXPECT_EQ(xsave_compacted_size(0xf, c, 4), 704u);
    // Without component 2 the header's end (576) is already aligned.
    EXPECT_EQ(xsave_compacted_size(0xb, c, 4), 640u);
}

} // namespace
