#include "hypervisor/mailbox/audit.hpp"

#include <string.h>

#include "hypervisor/mailbox/ring.hpp"
#include "hypervisor/mailbox/session_crypto.hpp"

namespace keel::mailbox {
namespace {
constexpr u64 kLogProdField = __builtin_offsetof(Header, log_prod);
constexpr u64 kLogConsField = __builtin_offsetof(Header, log_cons);
constexpr u64 kUnloggedField = __builtin_offsetof(Header, unlogged);
} // namespace

void audit_chain_start(const u8 (&nonce)[16], u8 (&out)[crypto::kSha256Size]) {
    crypto::sha256(nonce, sizeof nonce, out);
}

void AuditWriter::init(SharedRegion* region, const u8 (&nonce)[16]) {
    region_ = region;
    audit_chain_start(nonce, last_hash_);
    next_index_ = 0;
    prod_ = 0;
    unlogged_ = unlogged_reported_ = 0;
    region_->write32(kLogProdField, 0);
    region_->write32(kUnloggedField, 0);
}

void AuditWriter::adopt(SharedRegion* region, const u8 (&head)[crypto::kSha256Size], u64 next_index,
                        u32 prod, u32 unlogged) {
    region_ = region;
    memcpy(last_hash_, head, sizeof last_hash_);
    next_index_ = next_index;
    prod_ = prod;
    unlogged_ = unlogged_reported_ = unlogged;
}

u32 AuditWriter::free_slots() const {
    // One read of the controller's index; ring_free treats a hostile value as "full".
    return ring_free(prod_, region_->read32(kLogConsField), kLogSlots);
}

bool AuditWriter::write(AuditRecord& rec) {
    rec.index = next_index_;
    memcpy(rec.prev_hash, last_hash_, sizeof last_hash_);
    memset(rec.mac, 0, sizeof rec.mac);
    if (mac_key_.ready()) (void)mac_record(mac_key_, rec); // a zero MAC on failure
    const u64 off = kLogRingOffset + ring_slot(prod_, kLogSlots) * sizeof(AuditRecord);
    if (region_->copy_out(off, &rec, sizeof rec) != Status::Ok) return false;
    // The record must be visible before the index that publishes it (§3.6).
    barrier_release();
    ++prod_;
    region_->write32(kLogProdField, prod_);
    crypto::sha256(&rec, sizeof rec, last_hash_);
    ++next_index_;
    return true;
}

bool AuditWriter::append(AuditKind kind, u64 time_ms, u64 seq, u32 opcode, Status status, u32 vm_id,
                         const char* detail) {
    u32 room = free_slots();
    if (unlogged_ != unlogged_reported_ && room >= 2) {
        AuditRecord gap{};
        gap.kind = static_cast<u32>(AuditKind::Gap);
        gap.time_ms = time_ms;
        gap.status = static_cast<u32>(Status::LogFull);
        gap.vm_id = unlogged_ - unlogged_reported_; // how many outcomes went unrecorded
        memcpy(gap.detail, "records dropped: log was full", 29);
        if (write(gap)) unlogged_reported_ = unlogged_;
        room = free_slots();
    }
    if (room == 0) {
        ++unlogged_;
        region_->write32(kUnloggedField, unlogged_);
        return false;
    }
    AuditRecord rec{};
    rec.kind = static_cast<u32>(kind);
    rec.time_ms = time_ms;
    rec.seq = seq;
    rec.opcode = opcode;
    rec.status = static_cast<u32>(status);
    rec.vm_id = vm_id;
    if (detail != nullptr) {
        usize n = strlen(detail);
        memcpy(rec.detail, detail, n < sizeof rec.detail ? n : sizeof rec.detail - 1);
    }
    return write(rec);
}

Status audit_verify(const AuditRecord* recs, usize n, u8 (&prev)[crypto::kSha256Size],
                    u64 first_index, usize* bad) {
    for (usize i = 0; i < n; ++i) {
        if (recs[i].index != first_index + i || memcmp(recs[i].prev_hash, prev, sizeof prev) != 0) {
            if (bad != nullptr) *bad = i;
            return Status::Corrupt;
        }
        crypto::sha256(&recs[i], sizeof recs[i], prev);
    }
    return Status::Ok;
}

} // namespace keel::mailbox
