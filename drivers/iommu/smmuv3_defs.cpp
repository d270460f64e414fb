#include "drivers/iommu/smmuv3_defs.hpp"

namespace keel::iommu {

Ste make_ste_stage1(u64 cd) {
    Ste s{};
    s.dw[0] = 1ull | (static_cast<u64>(SteConfig::Stage1) << 1) | (cd & 0x000fffffffffffc0ull);
    // S1CIR [3:2] = 01, S1COR [5:4] = 01, S1CSH [7:6] = 11: CD fetches WB, inner shareable.
    s.dw[1] = (1ull << 2) | (1ull << 4) | (3ull << 6);
    return s;
}

Ste make_ste(SteConfig config) {
    Ste s{};
    s.dw[0] = 1ull | (static_cast<u64>(config) << 1);
    return s;
}

Cd make_cd(u64 ttb0, u16 asid, u8 ips, u64 mair) {
    Cd c{};
    u64 d = 25;       // T0SZ: 39-bit input
    d |= 0ull << 6;   // TG0 = 4 KiB
    d |= 1ull << 8;   // IR0 write-back
    d |= 1ull << 10;  // OR0 write-back
    d |= 3ull << 12;  // SH0 inner shareable
    d |= 25ull << 16; // T1SZ (unused, but must be a legal size)
    d |= 2ull << 22;  // TG1 = 4 KiB (TG1 coding 10)
    d |= 1ull << 30;  // EPD1: no TTB1 walks
    d |= 1ull << 31;  // V
    d |= static_cast<u64>(ips & 7) << 32;
    d |= 1ull << 41; // AA64
    d |= 1ull << 45; // R: record faults
    d |= 1ull << 46; // A: abort (never stall) on fault
    d |= 1ull << 47; // ASET: non-shared set, untouched by the PEs' broadcast TLBIs
    d |= static_cast<u64>(asid) << 48;
    c.dw[0] = d;
    c.dw[1] = ttb0 & 0x000ffffffffffff0ull;
    c.dw[3] = mair;
    return c;
}

Cmd cmd_cfgi_ste(u32 sid) { return Cmd{{kOpCfgiSte | (static_cast<u64>(sid) << 32), 1}}; }
Cmd cmd_cfgi_all() { return Cmd{{kOpCfgiAll, 31}}; }
Cmd cmd_tlbi_nh_asid(u16 asid) { return Cmd{{kOpTlbiNhAsid | (static_cast<u64>(asid) << 48), 0}}; }
Cmd cmd_simple(u8 op) { return Cmd{{op, 0}}; }
Cmd cmd_sync() { return Cmd{{kOpSync, 0}}; }

Event decode_event(const EventRecord& r) {
    return Event{static_cast<u8>(r.dw[0] & 0xff), static_cast<u32>(r.dw[0] >> 32),
                 ((r.dw[1] >> 35) & 1) != 0, r.dw[2]};
}

const char* event_name(u8 type) {
    switch (type) {
    case 0x01: return "F_UUT";
    case kEvtBadStreamId: return "C_BAD_STREAMID";
    case 0x03: return "F_STE_FETCH";
    case kEvtBadSte: return "C_BAD_STE";
    case 0x06: return "F_STREAM_DISABLED";
    case 0x09: return "F_CD_FETCH";
    case kEvtBadCd: return "C_BAD_CD";
    case 0x0b: return "F_WALK_EABT";
    case kEvtTranslation: return "F_TRANSLATION";
    case kEvtAddrSize: return "F_ADDR_SIZE";
    case kEvtAccess: return "F_ACCESS";
    case kEvtPermission: return "F_PERMISSION";
    default: return "?";
    }
}

} // namespace keel::iommu
