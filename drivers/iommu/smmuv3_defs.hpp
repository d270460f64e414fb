// SMMUv3 register offsets and the in-memory structures Keel writes and reads: stream table
// entries, context descriptors, commands and event records, as pure encoders/decoders
// (ARM IHI 0070 "SMMU architecture version 3": §6.3 registers, §5.2 STE, §5.4 CD, §4
// commands, §7.3 events). Host-tested bit by bit against those sections
// (tests/unit/smmuv3_test.cpp).
#pragma once

#include "hypervisor/types.hpp"

namespace keel::iommu {

// Registers (§6.3), offsets from the SMMU's base; EVTQ_PROD/CONS live in page 1.
constexpr u32 kIdr0 =
    0x00; // S2P [0], S1P [1], TTF [3:2], COHACC [4], ASID16 [12], ST_LEVEL [28:27]
constexpr u32 kIdr1 = 0x04; // SIDSIZE [5:0], EVENTQS [20:16], CMDQS [25:21]
constexpr u32 kIdr5 = 0x14; // OAS [2:0], GRAN4K [4]
constexpr u32 kCr0 = 0x20;  // SMMUEN [0], EVTQEN [2], CMDQEN [3]
constexpr u32 kCr0Ack = 0x24;
constexpr u32 kCr1 = 0x28;  // queue and table fetch attributes
constexpr u32 kCr2 = 0x2c;  // RECINVSID [1], PTM [2]
constexpr u32 kGbpa = 0x44; // ABORT [20], Update [31]: what happens while SMMUEN = 0
constexpr u32 kGerror = 0x60;
constexpr u32 kGerrorN = 0x64;
constexpr u32 kStrtabBase = 0x80;    // RA [62], ADDR [51:6]
constexpr u32 kStrtabBaseCfg = 0x88; // LOG2SIZE [5:0], SPLIT [10:6], FMT [17:16] (0 linear)
constexpr u32 kCmdqBase = 0x90;      // RA [62], ADDR [51:5], LOG2SIZE [4:0]
constexpr u32 kCmdqProd = 0x98;
constexpr u32 kCmdqCons = 0x9c;    // RD, ERR [30:24]
constexpr u32 kEvtqBase = 0xa0;    // WA [62], ADDR [51:5], LOG2SIZE [4:0]
constexpr u32 kEvtqProd = 0x100a8; // WR, OVFLG [31]
constexpr u32 kEvtqCons = 0x100ac;
constexpr u32 kRegionSize = 0x20000; // pages 0 and 1

constexpr u32 kCr0SmmuEn = 1u << 0;
constexpr u32 kCr0EvtqEn = 1u << 2;
constexpr u32 kCr0CmdqEn = 1u << 3;
constexpr u32 kGerrorCmdq = 1u << 0;
constexpr u32 kGbpaAbort = 1u << 20;
constexpr u32 kGbpaUpdate = 1u << 31;
constexpr u64 kQueueRa = 1ull << 62;     // read/write-allocate hint on the queue/table bases
constexpr u32 kQueueOverflow = 1u << 31; // EVTQ_PROD.OVFLG / EVTQ_CONS.OVACKFLG

// STE Config (§5.2, STE[0] bits [3:1]).
enum class SteConfig : u8 { Abort = 0b000, Bypass = 0b100, Stage1 = 0b101 };

// The structures as little-endian doublewords, one distinct type each.
template <unsigned N, typename Tag>
struct Dwords {
    u64 dw[N];
};
// One 64-byte stream table entry. Invalid (all zero) means: every transaction from the
// stream aborts and records C_BAD_STE (§5.2 "V").
using Ste = Dwords<8, struct SteTag>;
// A valid STE translating through one stage-1 context descriptor at `cd` (S1Fmt 0, S1CDMax
// 0: one CD, no substreams); the CD is fetched inner-shareable write-back (S1CIR/S1COR 01,
// S1CSH 11), the stream's translation regime is NS-EL1 (STRW 00).
Ste make_ste_stage1(u64 cd);
Ste make_ste(SteConfig config); // Abort or Bypass

// One 64-byte context descriptor (§5.4) for a 39-bit, 4 KiB-granule TTB0 table at `ttb0`,
// walks inner-shareable write-back, TTB1 disabled (EPD1), AArch64, faults recorded (R)
// and aborted (A) rather than stalled, ASID `asid`, output size `ips` (IDR5.OAS coding).
using Cd = Dwords<8, struct CdTag>;
Cd make_cd(u64 ttb0, u16 asid, u8 ips, u64 mair);

// Commands (§4): 16 bytes each.
using Cmd = Dwords<2, struct CmdTag>;
enum CmdOp : u8 {
    kOpCfgiSte = 0x03,
    kOpCfgiAll = 0x04,
    kOpTlbiNhAll = 0x10,
    kOpTlbiNhAsid = 0x11,
    kOpTlbiEl2All = 0x20,
    kOpTlbiNsnhAll = 0x30,
    kOpSync = 0x46,
};
Cmd cmd_cfgi_ste(u32 sid); // Leaf = 1
Cmd cmd_cfgi_all();        // Range = 31
Cmd cmd_tlbi_nh_asid(u16 asid);
Cmd cmd_simple(u8 op); // TLBI_NH_ALL, TLBI_EL2_ALL, TLBI_NSNH_ALL
Cmd cmd_sync();        // CS = SIG_NONE: completion is CONS passing it

// Event records (§7.3): 32 bytes.
using EventRecord = Dwords<4, struct EventTag>;
enum EventType : u8 {
    kEvtBadStreamId = 0x02,
    kEvtBadSte = 0x04,
    kEvtBadCd = 0x0a,
    kEvtTranslation = 0x10,
    kEvtAddrSize = 0x11,
    kEvtAccess = 0x12,
    kEvtPermission = 0x13,
};
struct Event {
    u8 type;
    u32 sid;
    bool read;   // RnW (for the fault events 0x10-0x13)
    u64 address; // InputAddr: the IOVA the device used (fault and C_BAD_* events alike)
};
Event decode_event(const EventRecord& r);
const char* event_name(u8 type);

// A queue of 2^log2 entries: PROD/CONS hold the index and, one bit above it, the wrap.
constexpr u32 queue_index(u32 v, u32 log2) { return v & ((1u << log2) - 1); }
constexpr bool queue_full(u32 prod, u32 cons, u32 log2) {
    return queue_index(prod, log2) == queue_index(cons, log2) &&
           ((prod >> log2) & 1) != ((cons >> log2) & 1);
}
constexpr bool queue_empty(u32 prod, u32 cons, u32 log2) {
    return (prod & ((2u << log2) - 1)) == (cons & ((2u << log2) - 1));
}
constexpr u32 queue_next(u32 v, u32 log2) { return (v + 1) & ((2u << log2) - 1); }

} // namespace keel::iommu
