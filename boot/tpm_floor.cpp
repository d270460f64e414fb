// The security floor in a TPM NV index (boot/README.md "Anti-rollback"), through
// EFI_TCG2_PROTOCOL.SubmitCommand. Commands from TPM 2.0 Part 3 (NV_ReadPublic 31.6,
// NV_DefineSpace 31.3, NV_Read 31.13, NV_SetBits 31.9), structures from Part 2 (TPMS_NV_PUBLIC
// 13.5, TPMA_NV 13.4, TPMS_AUTH_COMMAND 10.13.2): every authorization is a password session
// (TPM_RS_PW) with an empty password: the owner's for the definition, the index's own after.
#include <string.h>

#include "boot/stage.hpp"
#include "hypervisor/print.hpp"

namespace keel {
namespace {

constexpr u16 kStNoSessions = 0x8001, kStSessions = 0x8002;
constexpr u32 kCcNvDefineSpace = 0x12a, kCcNvSetBits = 0x135, kCcNvWriteLock = 0x138,
              kCcNvRead = 0x14e, kCcNvReadPublic = 0x169;
constexpr u32 kRhOwner = 0x40000001, kRsPw = 0x40000009;
constexpr u16 kAlgSha256 = 0x000b;
constexpr u32 kRcNvUninitialized = 0x14a;
// TPMA_NV: TPM_NT_BITS (bits 7:4 = 2), AUTHWRITE (2), WRITE_STCLEAR (14: NV_WriteLock holds
// until the next TPM2_Startup(CLEAR), i.e. the next boot), AUTHREAD (18), NO_DA (25).
constexpr u32 kNtMask = 0xf0, kNtBits = 0x20;
constexpr u32 kFloorIndexAttributes = kNtBits | (1u << 2) | (1u << 14) | (1u << 18) | (1u << 25);

struct Cmd {
    u8 b[64];
    u32 n = 0;
    void u8_(u8 v) { b[n++] = v; }
    void u16_(u16 v) { put_be16(b + n, v), n += 2; }
    void u32_(u32 v) { put_be32(b + n, v), n += 4; }
    void u64_(u64 v) { u32_(static_cast<u32>(v >> 32)), u32_(static_cast<u32>(v)); }
    // An empty-password TPM_RS_PW session (9 bytes) behind its authorizationSize.
    void password_session() {
        u32_(9);
        u32_(kRsPw);
        u16_(0); // nonce
        u8_(0);  // sessionAttributes
        u16_(0); // hmac: the (empty) password
    }
};

Cmd start(u16 tag, u32 cc) {
    Cmd c;
    c.u16_(tag);
    c.u32_(0); // size, filled in by submit
    c.u32_(cc);
    return c;
}

// Sends `c`; the response code, or ~0u when the transport failed or the answer is malformed.
u32 submit(Tpm& tpm, Cmd& c, u8 (&rsp)[128]) {
    put_be32(c.b + 2, c.n);
    memset(rsp, 0, sizeof rsp);
    const efi::Status s = tpm.tcg2->submit_command(tpm.tcg2, c.n, c.b, sizeof rsp, rsp);
    if (s != efi::kSuccess || get_be32(rsp + 2) < 10 || get_be32(rsp + 2) > sizeof rsp) return ~0u;
    return get_be32(rsp + 6);
}

bool is_handle_error(u32 rc) { return (rc & 0x80) != 0 && (rc & 0x3f) == 0x0b; } // TPM_RC_HANDLE

// Makes sure the index exists with Keel's attributes; false (and a line) if not.
bool ensure_index(Tpm& tpm) {
    u8 rsp[128];
    Cmd c = start(kStNoSessions, kCcNvReadPublic);
    c.u32_(kTpmFloorIndex);
    u32 rc = submit(tpm, c, rsp);
    if (rc == 0) {
        // TPM2B_NV_PUBLIC at 10: size, nvIndex, nameAlg, attributes (at 18).
        const u32 attrs = get_be32(rsp + 18);
        if ((attrs & kNtMask) == kNtBits &&
            (attrs & kFloorIndexAttributes) == kFloorIndexAttributes)
            return true;
        kprint("keel-boot: tpm: NV index %#x has attributes %#x, not the floor's: not used\n",
               kTpmFloorIndex, attrs);
        return false;
    }
    if (!is_handle_error(rc)) {
        kprint("keel-boot: tpm: NV_ReadPublic of the floor index failed (rc %#x)\n", rc);
        return false;
    }
    c = start(kStSessions, kCcNvDefineSpace);
    c.u32_(kRhOwner);
    c.password_session();
    c.u16_(0);  // auth: the index's password, empty
    c.u16_(14); // TPM2B_NV_PUBLIC
    c.u32_(kTpmFloorIndex);
    c.u16_(kAlgSha256);
    c.u32_(kFloorIndexAttributes);
    c.u16_(0); // authPolicy
    c.u16_(8); // dataSize: 64 bits
    rc = submit(tpm, c, rsp);
    if (rc != 0) {
        kprint("keel-boot: tpm: cannot define the floor index %#x (rc %#x)\n", kTpmFloorIndex, rc);
        return false;
    }
    kprint("keel-boot: tpm: floor index %#x defined\n", kTpmFloorIndex);
    return true;
}

} // namespace

bool tpm_floor_read(Tpm& tpm, u32& floor) {
    floor = 0;
    if (tpm.tcg2 == nullptr || !ensure_index(tpm)) return false;
    u8 rsp[128];
    Cmd c = start(kStSessions, kCcNvRead);
    c.u32_(kTpmFloorIndex); // authHandle: the index itself
    c.u32_(kTpmFloorIndex);
    c.password_session();
    c.u16_(8); // size
    c.u16_(0); // offset
    const u32 rc = submit(tpm, c, rsp);
    if (rc == kRcNvUninitialized) return true; // never written: no floor yet
    // parameterSize at 10, TPM2B_MAX_NV_BUFFER: size at 14, 8 bytes at 16.
    if (rc != 0 || get_be16(rsp + 14) != 8) {
        kprint("keel-boot: tpm: NV_Read of the floor index failed (rc %#x)\n", rc);
        return false;
    }
    const u64 bits = (u64(get_be32(rsp + 16)) << 32) | get_be32(rsp + 20);
    floor = bits == 0 ? 0 : 64 - static_cast<u32>(__builtin_clzll(bits));
    return true;
}

bool tpm_floor_lock(Tpm& tpm) {
    u8 rsp[128];
    Cmd c = start(kStSessions, kCcNvWriteLock);
    c.u32_(kTpmFloorIndex);
    c.u32_(kTpmFloorIndex);
    c.password_session();
    const u32 rc = submit(tpm, c, rsp);
    if (rc != 0) kprint("keel-boot: tpm: NV_WriteLock of the floor index failed (rc %#x)\n", rc);
    return rc == 0;
}

bool tpm_floor_raise(Tpm& tpm, u32 floor) {
    if (tpm.tcg2 == nullptr || floor == 0 || floor > kTpmFloorMax) return false;
    u8 rsp[128];
    Cmd c = start(kStSessions, kCcNvSetBits);
    c.u32_(kTpmFloorIndex);
    c.u32_(kTpmFloorIndex);
    c.password_session();
    c.u64_(1ull << (floor - 1));
    const u32 rc = submit(tpm, c, rsp);
    if (rc != 0) kprint("keel-boot: tpm: NV_SetBits of the floor index failed (rc %#x)\n", rc);
    return rc == 0;
}

} // namespace keel
