// The audit log (docs/mailbox.md §5): fixed 128-byte records in a ring, each carrying
// the SHA-256 of the record before it (record 0: of the boot nonce), so the controller
// detects a missing, reordered or rewritten record, and, from the first session on, a
// MAC with the session's log key (session_crypto.hpp), so a writer of the BAR cannot
// forge one: rewriting an unread record and recomputing the chain no longer passes. The
// chain head lives only in hypervisor memory; Keel never reads a record back.
//
// The writer never overwrites unread records: it reads the controller's consumer index,
// and with no room it counts the record as "unlogged" (published in the header) and
// writes a Gap record with that count as soon as room returns.
#pragma once

#include "crypto/hmac.hpp"
#include "crypto/sha2.hpp"
#include "hypervisor/mailbox/abi.hpp"
#include "hypervisor/mailbox/shared.hpp"

namespace keel::mailbox {

// Free log slots a state-changing command needs before it is accepted: its own record
// plus room for the rejections that may follow before the controller pulls.
constexpr u32 kLogReserve = 8;

class AuditWriter {
public:
    void init(SharedRegion* region, const u8 (&nonce)[16]);
    // Live update's incoming image (docs/handover.md §2.2 Mailbox, §4 step 4): continues the
    // chain another image wrote into `region`, from its head, next index, producer index and
    // unlogged count (a Gap not yet written for those is not written again). Writes nothing.
    void adopt(SharedRegion* region, const u8 (&head)[crypto::kSha256Size], u64 next_index,
               u32 prod, u32 unlogged);
    // The key later records are MACed with, copied: the writer keeps it until the next
    // call even when the caller's key changes (a new session's key is derived before the
    // old session's last records are written). Null: records carry a zero MAC.
    void set_mac_key(const crypto::HmacSha256Key* key) {
        if (key != nullptr)
            mac_key_.copy_from(*key);
        else
            mac_key_.clear();
    }
    [[nodiscard]] u32 free_slots() const;
    // Appends one record; false when the ring was full (counted as unlogged).
    bool append(AuditKind kind, u64 time_ms, u64 seq, u32 opcode, Status status, u32 vm_id,
                const char* detail);
    [[nodiscard]] u64 next_index() const { return next_index_; }
    // The chain head (SHA-256 of the last record written) and the ring's producer index.
    [[nodiscard]] const u8 (&head() const)[crypto::kSha256Size] { return last_hash_; }
    [[nodiscard]] u32 prod() const { return prod_; }
    [[nodiscard]] u32 unlogged() const { return unlogged_; }

private:
    bool write(AuditRecord& rec);

    SharedRegion* region_ = nullptr;
    crypto::HmacSha256Key mac_key_;
    u8 last_hash_[crypto::kSha256Size] = {};
    u64 next_index_ = 0;
    u32 prod_ = 0;
    u32 unlogged_ = 0;
    u32 unlogged_reported_ = 0;
};

// Verifies `n` records pulled in order. `prev` is the hash the first must carry and
// `first_index` its index; on Ok, `prev` becomes the hash of the last record. Corrupt
// names the first bad record in `bad` (a wrong prev_hash or an index jump).
[[nodiscard]] Status audit_verify(const AuditRecord* recs, usize n, u8 (&prev)[crypto::kSha256Size],
                                  u64 first_index, usize* bad);
void audit_chain_start(const u8 (&nonce)[16], u8 (&out)[crypto::kSha256Size]);

} // namespace keel::mailbox
