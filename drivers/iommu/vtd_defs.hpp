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
// Queued invalidation (11.4.9.1-4): queue head and tail (byte offsets of 16-byte
// descriptors, bits 18:4), queue address (base 63:12, DW 11 = 0: 128-bit descriptors,
// QS 2:0: 2^QS pages), completion status (IWC bit 0). Interrupt remapping table
// address (11.4.10.1): base 63:12, EIME 11, S 3:0 (2^(S+1) entries).
constexpr u32 kIqh = 0x80, kIqt = 0x88, kIqa = 0x90, kIcs = 0x9c, kIrta = 0xb8;
constexpr u64 kIrtaEime = 1ull << 11;
constexpr u64 kRtaddrTtm = 3ull << 10; // root table address: translation table mode (00: legacy)

// Global command / status (11.4.4, 11.4.5): the same bit in both.
constexpr u32 kTe = 1u << 31;    // translation enable
constexpr u32 kSrtp = 1u << 30;  // set root table pointer (one-shot)
constexpr u32 kSfl = 1u << 29;   // set fault log (one-shot)
constexpr u32 kWbf = 1u << 27;   // write buffer flush (one-shot)
constexpr u32 kQie = 1u << 26;   // queued invalidation enable
constexpr u32 kIre = 1u << 25;   // interrupt remapping enable
constexpr u32 kSirtp = 1u << 24; // set interrupt remap table pointer (one-shot)
constexpr u32 kCfi = 1u << 23;   // compatibility-format interrupts allowed (Keel: never)
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
constexpr bool ecap_eim(u64 ecap) { return (ecap >> 4) & 1; } // x2APIC destinations
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
constexpr u32 kFstsIqe = 1u << 4; // invalidation queue error (a descriptor refused)
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
// Fault reasons (7.1.3, table "Unrecoverable Fault Conditions"): the legacy-mode DMA
// ones and the interrupt-remapping ones (0x20-0x26).
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

// Invalidation descriptors (6.5.2), 128 bits, type in bits 3:0 of the low qword.
// Context-cache (type 1) and IOTLB (type 2) with granularity 01 (global) in bits 5:4
// (IOTLB: DR 7 and DW 6 drain reads and writes first); interrupt entry cache (type 4)
// with G (bit 4) 0: global; invalidation wait (type 5): SW (bit 5) has the unit write
// the status data (63:32) to the status address (high qword, 63:2) once every earlier
// descriptor is done.
constexpr Entry128 qi_context_global() { return {0x1ull | (1ull << 4), 0}; }
constexpr Entry128 qi_iotlb_global() {
    return {0x2ull | (1ull << 4) | (1ull << 7) | (1ull << 6), 0};
}
constexpr Entry128 qi_iec_global() { return {0x4ull, 0}; }
constexpr Entry128 qi_wait(u64 status_addr, u32 data) {
    return {0x5ull | (1ull << 5) | (u64{data} << 32), status_addr & ~3ull};
}

// Interrupt remapping table entry (9.10), remapped format: low qword P 0, FPD 1, DM 2
// (0: physical destination), RH 3, TM 4 (0: edge), DLM 7:5 (0: fixed), IM 15 (0:
// remapped), vector 23:16, destination 63:32 (xAPIC: the APIC ID in bits 47:40); high
// qword SID 15:0, SQ 17:16 (0: all 16 bits compared), SVT 19:18 (01: verify the
// requester ID), so only that function can raise the interrupt.
constexpr Entry128 make_irte(u8 vector, u32 apic_id, bool x2apic, u16 sid) {
    const u64 dest = x2apic ? u64{apic_id} << 32 : u64{apic_id & 0xff} << 40;
    return {1ull | (u64{vector} << 16) | dest, u64{sid} | (1ull << 18)};
}
static_assert(make_irte(0x41, 2, false, 0x0119).lo == 0x0000020000410001ull &&
                  make_irte(0x41, 2, false, 0x0119).hi == 0x40119ull,
              "present, fixed, edge, physical; vector 0x41, xAPIC id 2; SVT 01, SID 00:03.1");
// The MSI address and data a device must send to use IRTE `handle` (5.1.2.2,
// remappable format): 0xFEE in 31:20, handle[14:0] in 19:5, format 1 in bit 4, SHV 0,
// handle[15] in bit 2; the data is then ignored (0).
constexpr u32 remappable_msi_address(u16 handle) {
    return 0xfee00000u | (u32{handle & 0x7fffu} << 5) | (1u << 4) |
           (static_cast<u32>(handle >> 15) << 2);
}
// The same with SHV (bit 3) set: the device sends a subhandle in data[15:0] and the entry
// used is handle + subhandle (5.1.2.2), so one address serves a run of entries and each
// vector's data is its index in the run.
constexpr u32 remappable_msi_address_shv(u16 handle) {
    return remappable_msi_address(handle) | (1u << 3);
}
static_assert(remappable_msi_address(0x21) == 0xfee00430u &&
                  remappable_msi_address_shv(0x21) == 0xfee00438u &&
                  remappable_msi_address(0x8001) == 0xfee00034u,
              "handle 0x21: 0x21 << 5 | format bit 4 (| SHV bit 3); handle bit 15 in bit 2");

static_assert(make_context(0x12345000, 7, kAw48).lo == 0x12345001ull &&
                  make_context(0x12345000, 7, kAw48).hi == 0x702ull,
              "present, TT 00, root; domain 7 at bits 23:8, AW 2 (48-bit)");

} // namespace keel::iommu::vtd
