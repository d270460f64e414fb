// Intel VT-d (Intel Virtualization Technology for Directed I/O, Architecture
// Specification; chapter and section numbers below are the spec's): the remapping
// unit's registers (11.4), the legacy-mode root and context entries (9.1, 9.3) and the
// fault recording registers (11.4.14), with their encoders/decoders. Pure values, no
// access: vtd.cpp drives them, tests/unit/vtd_test.cpp checks them.
#pragma once

#include "hypervisor/types.hpp"

namespace keel::iommu::vtd {

// Register offsets (11.4.1 - 11.4.8). 64-bit registers are written as two doublewords,
// low first (11.2: software may use aligned doubleword accesses).
constexpr u32 kVer = 0x00, kCap = 0x08, kEcap = 0x10, kGcmd = 0x18, kGsts = 0x1c, kRtaddr = 0x20,
              kCcmd = 0x28, kFsts = 0x34, kFectl = 0x38;

// Global command / status (11.4.4, 11.4.5): the same bit in both.
constexpr u32 kTe = 1u << 31;    // translation enable
constexpr u32 kSrtp = 1u << 30;  // set root table pointer (one-shot)
constexpr u32 kSfl = 1u << 29;   // set fault log (one-shot)
constexpr u32 kWbf = 1u << 27;   // write buffer flush (one-shot)
constexpr u32 kQie = 1u << 26;   // queued invalidation enable
constexpr u32 kIre = 1u << 25;   // interrupt remapping enable
constexpr u32 kSirtp = 1u << 24; // set interrupt remap table pointer (one-shot)
// Bits of GSTS that are states (kept when writing GCMD), not one-shot commands.
constexpr u32 kPersistent = ~(kSrtp | kSfl | kWbf | kSirtp) & 0xff800000u;

// Capability register (11.4.2).
constexpr u32 cap_domains_log2(u64 cap) { return 4 + 2 * static_cast<u32>(cap & 7); } // ND
constexpr bool cap_rwbf(u64 cap) { return (cap >> 4) & 1; }
constexpr bool cap_caching_mode(u64 cap) { return (cap >> 7) & 1; }
constexpr u32 cap_sagaw(u64 cap) { return static_cast<u32>(cap >> 8) & 0x1f; }
constexpr u32 cap_mgaw(u64 cap) { return (static_cast<u32>(cap >> 16) & 0x3f) + 1; }
constexpr u32 cap_fault_offset(u64 cap) { return (static_cast<u32>(cap >> 24) & 0x3ff) * 16; }
constexpr u32 cap_sllps(u64 cap) { return static_cast<u32>(cap >> 34) & 0xf; } // bit 0: 2 MiB
constexpr u32 cap_fault_count(u64 cap) { return (static_cast<u32>(cap >> 40) & 0xff) + 1; }
// SAGAW bits: 1 = 39-bit (3-level), 2 = 48-bit (4-level) second-level tables.
constexpr u32 kSagaw39 = 1u << 1, kSagaw48 = 1u << 2;

// Extended capability register (11.4.3).
constexpr bool ecap_coherent(u64 ecap) { return ecap & 1; } // page walks snoop caches
constexpr bool ecap_queued_inval(u64 ecap) { return (ecap >> 1) & 1; }
constexpr bool ecap_intr_remap(u64 ecap) { return (ecap >> 3) & 1; }
constexpr u32 ecap_iotlb_offset(u64 ecap) { return (static_cast<u32>(ecap >> 8) & 0x3ff) * 16; }

// Context command (11.4.7): ICC starts it and reads 0 when done; CIRG 01 = global.
constexpr u64 kCcmdIcc = 1ull << 63;
constexpr u64 kCcmdGlobal = 1ull << 61;
// IOTLB invalidate (11.4.8.1, at ECAP.IRO + 8): IVT starts it and reads 0 when done;
// IIRG 01 = global; DR/DW drain reads and writes first.
constexpr u32 kIotlbReg = 8;
constexpr u64 kIotlbIvt = 1ull << 63;
constexpr u64 kIotlbGlobal = 1ull << 60;
constexpr u64 kIotlbDrain = (1ull << 49) | (1ull << 48);

// Fault status (11.4.9): primary fault overflow, primary pending fault, the index of
// the first fault recording register holding a fault.
constexpr u32 kFstsPfo = 1u << 0, kFstsPpf = 1u << 1;
constexpr u32 fsts_fault_index(u32 fsts) { return (fsts >> 8) & 0xff; }
// Fault event control (11.4.10): interrupt mask.
constexpr u32 kFectlIm = 1u << 31;

// A fault recording register (11.4.14), 128 bits: low qword FI (the faulting page
// address, bits 63:12); high qword SID 15:0, FR (reason) 39:32, T 62 (1: a read; the
// legacy type bit), F 63 (valid; write 1 to clear).
struct Fault {
    u16 sid;
    u8 reason;
    bool read;
    u64 address;
};
constexpr u64 kFaultF = 1ull << 63;
constexpr Fault decode_fault(u64 lo, u64 hi) {
    return Fault{static_cast<u16>(hi & 0xffff), static_cast<u8>(hi >> 32), ((hi >> 62) & 1) != 0,
                 lo & ~0xfffull};
}
// Fault reasons (7.1.3, table "Unrecoverable Fault Conditions"), the legacy-mode ones.
const char* fault_reason_name(u8 reason);

// Root entry (9.1), one per bus: present, context-table pointer. Context entry (9.3),
// one per device/function: low qword present, fault processing disable (bit 1), TT
// 3:2 (00: untranslated requests through second-level tables), the table root; high
// qword AW 2:0 (1: 39-bit 3-level, 2: 48-bit 4-level), domain id 23:8.
struct Entry128 {
    u64 lo;
    u64 hi;
};
static_assert(sizeof(Entry128) == 16, "VT-d 9.1 / 9.3: 128-bit entries");
constexpr Entry128 make_root(u64 context_table) { return {(context_table & ~0xfffull) | 1, 0}; }
constexpr Entry128 make_context(u64 table_root, u16 domain, u32 aw) {
    return {(table_root & ~0xfffull) | 1, (u64{domain} << 8) | aw};
}
constexpr u32 kAw39 = 1, kAw48 = 2;

static_assert(make_context(0x12345000, 7, kAw48).lo == 0x12345001ull &&
                  make_context(0x12345000, 7, kAw48).hi == 0x702ull,
              "present, TT 00, root; domain 7 at bits 23:8, AW 2 (48-bit)");

} // namespace keel::iommu::vtd
