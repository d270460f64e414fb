#include "drivers/sriov/nvme_cmd.hpp"

#include "hypervisor/bytes.hpp"

namespace keel::nvme {
namespace {

void put_prp1(Sqe& s, u64 prp1) {
    s.dw[6] = static_cast<u32>(prp1);
    s.dw[7] = static_cast<u32>(prp1 >> 32);
}

} // namespace

Sqe identify(u8 cns, u16 cntid, u32 nsid, u64 prp1) {
    Sqe s{};
    s.dw[0] = kOpIdentify;
    s.dw[1] = nsid;
    put_prp1(s, prp1);
    s.dw[10] = cns | (static_cast<u32>(cntid) << 16); // CNS [7:0], CNTID [31:16]
    return s;
}

Sqe virt_mgmt(u8 act, u8 rt, u16 cntlid, u16 nr) {
    Sqe s{};
    s.dw[0] = kOpVirtMgmt;
    s.dw[10] = (act & 0xfu) | ((rt & 7u) << 8) | (static_cast<u32>(cntlid) << 16);
    s.dw[11] = nr;
    return s;
}

Sqe ns_attachment(u32 nsid, bool detach, u64 prp1) {
    Sqe s{};
    s.dw[0] = kOpNsAttachment;
    s.dw[1] = nsid;
    put_prp1(s, prp1);
    s.dw[10] = detach ? 1u : 0u; // SEL [3:0]
    return s;
}

bool write_controller_list(u8* page, usize page_size, const u16* ids, u16 count) {
    if (count > 2047 || page_size < 2u + 2u * count) return false;
    for (usize i = 0; i < page_size; ++i)
        page[i] = 0;
    put_le(page, count, 2);
    for (u16 i = 0; i < count; ++i)
        put_le(page + 2 + 2 * i, ids[i], 2);
    return true;
}

i32 read_controller_list(const u8* page, usize page_size, u16* ids, u16 max) {
    const u16 n = le16(page);
    if (n > 2047 || page_size < 2u + 2u * n) return -1;
    for (u16 i = 0; i < n && i < max; ++i)
        ids[i] = le16(page + 2 + 2 * i);
    return n;
}

i32 parse_secondary_list(const u8* page, usize page_size, SecondaryController* out, u32 max) {
    const u32 n = page[0];
    if (n > 127 || page_size < 32 + 32 * n) return -1;
    u32 w = 0;
    for (u32 i = 0; i < n && w < max; ++i) {
        const u8* e = page + 32 + 32 * i;
        out[w++] = SecondaryController{le16(e),     le16(e + 2),  (e[4] & 1) != 0,
                                       le16(e + 8), le16(e + 10), le16(e + 12)};
    }
    return static_cast<i32>(w);
}

PrimaryCaps parse_primary_caps(const u8* p) {
    return PrimaryCaps{le16(p),      le32(p + 32), le32(p + 36), le16(p + 44),
                       le32(p + 64), le32(p + 68), le16(p + 76)};
}

} // namespace keel::nvme
