// NVMe admin commands Keel sends to a physical function, and the data structures it reads
// back: pure encoders and parsers, host-tested against the layouts in NVM Express Base
// Specification 2.0 (figures cited per item). Keel never builds I/O commands: the data
// path belongs to the VM that owns the VF.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::nvme {

// Controller registers (§3.1.4, Figure 33).
constexpr u32 kRegCap = 0x00; // 64-bit: MQES [15:0], TO [31:24] (500 ms), DSTRD [35:32]
constexpr u32 kRegVs = 0x08;
constexpr u32 kRegCc = 0x14;   // EN [0], CSS [6:4], MPS [10:7], IOSQES [19:16], IOCQES [23:20]
constexpr u32 kRegCsts = 0x1c; // RDY [0], CFS [1]
constexpr u32 kRegAqa = 0x24;  // ASQS [11:0], ACQS [27:16] (0's based)
constexpr u32 kRegAsq = 0x28;
constexpr u32 kRegAcq = 0x30;
constexpr u32 kRegDoorbells = 0x1000;

// Admin opcodes (§5, Figure 139).
constexpr u8 kOpIdentify = 0x06;
constexpr u8 kOpNsAttachment = 0x15;
constexpr u8 kOpVirtMgmt = 0x1c;
// Identify CNS values (Figure 273).
constexpr u8 kCnsController = 0x01;
constexpr u8 kCnsNsControllers = 0x12; // controllers attached to NSID
constexpr u8 kCnsPrimaryCaps = 0x14;   // primary controller capabilities
constexpr u8 kCnsSecondaryList = 0x15; // secondary controller list
// Virtualization Management actions and resource types (§5.22, Figure 321).
constexpr u8 kActPrimaryFlexible = 0x1;
constexpr u8 kActSecondaryOffline = 0x7;
constexpr u8 kActSecondaryAssign = 0x8;
constexpr u8 kActSecondaryOnline = 0x9;
constexpr u8 kResVq = 0; // queue resources
constexpr u8 kResVi = 1; // interrupt resources

// Submission queue entry (§4.2, Figure 88): CDW0 opcode [7:0], CID [31:16]; NSID in
// CDW1; PRP1 in CDW6-7, PRP2 in CDW8-9; command dwords 10-15.
struct Sqe {
    u32 dw[16];
};
static_assert(sizeof(Sqe) == 64);
// Completion queue entry (§4.6, Figure 94): DW0 command specific; DW2 SQ head [15:0];
// DW3 CID [15:0], phase [16], status [31:17] (SC [24:17], SCT [27:25], DNR [31]).
struct Cqe {
    u32 dw[4];
};
static_assert(sizeof(Cqe) == 16);
constexpr bool cqe_phase(const Cqe& c) { return (c.dw[3] >> 16) & 1; }
constexpr u16 cqe_cid(const Cqe& c) { return static_cast<u16>(c.dw[3] & 0xffff); }
// Status field without the phase bit: SCT << 8 | SC (0 = success).
constexpr u16 cqe_status(const Cqe& c) { return static_cast<u16>((c.dw[3] >> 17) & 0x7ff); }

Sqe identify(u8 cns, u16 cntid, u32 nsid, u64 prp1);
// Action `act` on secondary controller `cntlid` (or primary, for kActPrimaryFlexible),
// `nr` resources of type `rt` (assign / primary flexible only).
Sqe virt_mgmt(u8 act, u8 rt, u16 cntlid, u16 nr);
// Namespace Attachment (§5.20): select 0 attach, 1 detach; the controller list at prp1.
Sqe ns_attachment(u32 nsid, bool detach, u64 prp1);
// A controller list (Figure 136): number of ids (u16), then the ids. False if more than
// 2047 or the page is too small.
bool write_controller_list(u8* page, usize page_size, const u16* ids, u16 count);
// Reads one back: the count (ids copied up to max), or -1 if malformed.
i32 read_controller_list(const u8* page, usize page_size, u16* ids, u16 max);

// Secondary Controller List entry (Figure 282): SCID, PCID, SCS (bit 0 online), VFN,
// NVQ, NVI.
struct SecondaryController {
    u16 scid;
    u16 pcid;
    bool online;
    u16 vfn; // virtual function number (1-based), 0 if none
    u16 nvq;
    u16 nvi;
};
// Parses the list (Figure 281: count at byte 0, entries of 32 bytes from byte 32); returns
// the number of entries written to out (at most max), -1 for a count past 127.
i32 parse_secondary_list(const u8* page, usize page_size, SecondaryController* out, u32 max);

// Primary Controller Capabilities (Figure 280), the fields provisioning reads.
struct PrimaryCaps {
    u16 cntlid;
    u32 vqfrt;  // flexible VQ resources, total
    u32 vqrfa;  // ... assigned to secondaries
    u16 vqfrsm; // ... most per secondary
    u32 vifrt;
    u32 virfa;
    u16 vifrsm;
};
PrimaryCaps parse_primary_caps(const u8* page);

} // namespace keel::nvme
