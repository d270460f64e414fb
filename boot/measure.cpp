// Measurements: Keel's own TCG-style event log (docs/boot-info.md "Event log") and
// PCR extends through EFI_TCG2_PROTOCOL when the firmware has a TPM.
#include <string.h>

#include "boot/stage.hpp"
#include "crypto/sha2.hpp"
#include "hypervisor/bytes.hpp"
#include "hypervisor/print.hpp"

namespace keel {
namespace {

constexpr u16 kAlgSha256 = 0x000b; // TPM_ALG_SHA256 (TPM 2.0 Part 2 §6.3)
constexpr u16 kAlgSha384 = 0x000c; // TPM_ALG_SHA384

void put_le32(u8* p, u32 v) { put_le(p, v, 4); }
void put_le16(u8* p, u16 v) { put_le(p, v, 2); }

} // namespace

bool tpm_open(efi::BootServices* bs, Tpm& tpm) {
    void* iface = nullptr;
    if (bs->locate_protocol(&efi::kTcg2ProtocolGuid, nullptr, &iface) != efi::kSuccess || !iface) {
        kprint(
            "keel-boot: tpm: none (no EFI_TCG2_PROTOCOL); measurements go to the event log only\n");
        return false;
    }
    auto* tcg2 = static_cast<efi::Tcg2Protocol*>(iface);
    efi::Tcg2BootServiceCapability cap;
    memset(&cap, 0, sizeof(cap));
    cap.size = sizeof(cap);
    if (tcg2->get_capability(tcg2, &cap) != efi::kSuccess || !cap.tpm_present_flag) {
        kprint("keel-boot: tpm: none (TCG2 protocol without a TPM); measurements go to the event "
               "log only\n");
        return false;
    }
    tpm.tcg2 = tcg2;
    tpm.active_banks = cap.active_pcr_banks;
    kprint("keel-boot: tpm: present, active banks%s%s%s\n",
           (cap.active_pcr_banks & efi::kTcg2HashSha1) ? " sha1" : "",
           (cap.active_pcr_banks & efi::kTcg2HashSha256) ? " sha256" : "",
           (cap.active_pcr_banks & efi::kTcg2HashSha384) ? " sha384" : "");
    return true;
}

void measure(EventLog& log, Tpm* tpm, u32 type, const void* data, usize len, const char* desc,
             u8 (&sha384_out)[crypto::kSha384Size]) {
    u8 d256[crypto::kSha256Size];
    crypto::sha384(data, len, sha384_out);
    crypto::sha256(data, len, d256);

    // TCG_PCR_EVENT2 (TCG PC Client PFP §10.2.2) with two digests; event data = desc.
    const usize desc_len = strlen(desc);
    const usize rec = 4 + 4 + 4 + (2 + 48) + (2 + 32) + 4 + desc_len;
    if (log.used + rec > log.capacity) refuse("no event log space for \"%s\"", desc);
    u8* p = log.base + log.used;
    put_le32(p, kMeasurePcr);
    put_le32(p + 4, type);
    put_le32(p + 8, 2);
    put_le16(p + 12, kAlgSha384);
    memcpy(p + 14, sha384_out, 48);
    put_le16(p + 62, kAlgSha256);
    memcpy(p + 64, d256, 32);
    put_le32(p + 96, static_cast<u32>(desc_len));
    memcpy(p + 100, desc, desc_len);
    log.used += rec;

    char h384[97], h256[65];
    to_hex(sha384_out, 48, h384);
    to_hex(d256, 32, h256);
    kprint("keel-boot: measure: pcr %u sha384 %s sha256 %s %s\n", kMeasurePcr, h384, h256, desc);

    if (tpm == nullptr || tpm->tcg2 == nullptr) return;
    // The firmware hashes the same bytes in every active bank and logs the event.
    // Big enough for the longest description the stage makes: the configuration event,
    // a fixed prefix plus a keel.cfg of up to 255 bytes (main.cpp; issue 10 item 8, where
    // a 128-byte buffer refused every keel.cfg over ~30 bytes when a TPM was present).
    alignas(8) u8 evbuf[sizeof(efi::Tcg2Event) + kMaxEventDescription];
    if (desc_len > kMaxEventDescription) refuse("event description too long");
    auto* ev = reinterpret_cast<efi::Tcg2Event*>(evbuf);
    ev->size = static_cast<u32>(sizeof(u32) + sizeof(efi::Tcg2EventHeader) + desc_len);
    ev->header.header_size = sizeof(efi::Tcg2EventHeader);
    ev->header.header_version = 1;
    ev->header.pcr_index = kMeasurePcr;
    ev->header.event_type = type;
    memcpy(ev->event, desc, desc_len);
    efi::Status s =
        tpm->tcg2->hash_log_extend_event(tpm->tcg2, 0, reinterpret_cast<u64>(data), len, ev);
    if (s == efi::kVolumeFull || s == efi::kBufferTooSmall || s == efi::kOutOfResources)
        refuse("no TPM event log space (HashLogExtendEvent status %#llx)",
               static_cast<unsigned long long>(s));
    if (s != efi::kSuccess)
        refuse("TPM extend failed (HashLogExtendEvent status %#llx)",
               static_cast<unsigned long long>(s));
}

void tpm_print_pcr(Tpm& tpm) {
    if (tpm.tcg2 == nullptr) return;
    const bool use384 = (tpm.active_banks & efi::kTcg2HashSha384) != 0;
    const u16 alg = use384 ? kAlgSha384 : kAlgSha256;
    const u32 dlen = use384 ? 48 : 32;
    if (!use384 && !(tpm.active_banks & efi::kTcg2HashSha256)) {
        kprint("keel-boot: tpm: no sha384 or sha256 bank active, pcr not read\n");
        return;
    }
    // TPM2_PCR_Read (TPM 2.0 Part 3 §22.4): one selection, one PCR.
    u8 cmd[20];
    put_be16(cmd, 0x8001); // TPM_ST_NO_SESSIONS
    put_be32(cmd + 2, sizeof(cmd));
    put_be32(cmd + 6, 0x0000017e); // TPM_CC_PCR_Read
    put_be32(cmd + 10, 1);         // TPML_PCR_SELECTION.count
    put_be16(cmd + 14, alg);
    cmd[16] = 3; // sizeofSelect
    cmd[17] = cmd[18] = cmd[19] = 0;
    cmd[17 + kMeasurePcr / 8] = static_cast<u8>(1u << (kMeasurePcr % 8));
    u8 rsp[128];
    memset(rsp, 0, sizeof(rsp));
    efi::Status s = tpm.tcg2->submit_command(tpm.tcg2, sizeof(cmd), cmd, sizeof(rsp), rsp);
    // tag(2) size(4) rc(4) updateCounter(4) selection: count(4) alg(2) size(1) select(3)
    // digests: count(4) size(2) bytes
    const u32 size = get_be32(rsp + 2), rc = get_be32(rsp + 6);
    constexpr u32 kDigestAt = 10 + 4 + 4 + 2 + 1 + 3 + 4;
    if (s != efi::kSuccess || rc != 0 || size > sizeof(rsp) || size < kDigestAt + 2 + dlen ||
        get_be32(rsp + kDigestAt - 4) != 1 || get_be16(rsp + kDigestAt) != dlen) {
        kprint("keel-boot: tpm: PCR read failed (status %#llx, rc %#x)\n",
               static_cast<unsigned long long>(s), rc);
        return;
    }
    char hex[97];
    to_hex(rsp + kDigestAt + 2, dlen, hex);
    kprint("keel-boot: tpm: pcr %u %s %s\n", kMeasurePcr, use384 ? "sha384" : "sha256", hex);
}

} // namespace keel
