// keelctl log [--follow] [--state FILE]: pulls audit records (advancing log_cons),
// verifies index continuity, the SHA-256 chain and each record's MAC with the session's
// log key (docs/mailbox.md §5) and prints them. Verification continues across runs through a state
// file (log_state.hpp): the next run checks that the last record it verified, if still in the ring,
// is unchanged, and verifies new records against that record's hash. Exit 4 when anything is
// broken.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/mailbox/audit.hpp"
#include "hypervisor/mailbox/command.hpp"
#include "hypervisor/mailbox/session_crypto.hpp"
#include "tools/keelctl/commands.hpp"
#include "tools/keelctl/log_state.hpp"

namespace keelctl {
namespace {

constexpr u32 kSessionUnknown = ~0u; // resumed without state: the session in force is unknown

void print(const Session& s, const AuditRecord& r) {
    const char* kinds[] = {"boot",     "command", "rejected", "gap",
                           "vm-event", "session", "rejects",  "dma-fault"};
    const std::string detail(reinterpret_cast<const char*>(r.detail),
                             strnlen(reinterpret_cast<const char*>(r.detail), sizeof r.detail));
    const char* kind = r.kind < 8 ? kinds[r.kind] : "?";
    const char* st = status_name(static_cast<Status>(r.status));
    if (s.opt.json)
        printf("{\"index\":%llu,\"time_ms\":%llu,\"kind\":\"%s\",\"seq\":%llu,\"op\":\"%s\","
               "\"status\":\"%s\",\"vm\":%u,\"detail\":\"%s\"}\n",
               (unsigned long long)r.index, (unsigned long long)r.time_ms, kind,
               (unsigned long long)r.seq, opcode_name(static_cast<u16>(r.opcode)), st, r.vm_id,
               detail.c_str());
    else if (r.kind == static_cast<u32>(AuditKind::Rejects))
        printf("%6llu %10.3f %-8s rejected x%u, last seq %llu: %s (%s)\n",
               (unsigned long long)r.index, static_cast<double>(r.time_ms) / 1000.0, kind, r.vm_id,
               (unsigned long long)r.seq, st, detail.c_str());
    else
        printf("%6llu %10.3f %-8s %-13s vm %u seq %llu: %s (%s)\n", (unsigned long long)r.index,
               static_cast<double>(r.time_ms) / 1000.0, kind,
               opcode_name(static_cast<u16>(r.opcode)), r.vm_id, (unsigned long long)r.seq, st,
               detail.c_str());
}

AuditRecord ring_record(const Session& s, u32 i) {
    AuditRecord r;
    memcpy(&r, const_cast<const u8*>(s.c.base()) + kLogRingOffset + (i % kLogSlots) * sizeof r,
           sizeof r);
    return r;
}

// Where verification resumes: from the saved state when it is for this boot, else
// from the chain start (nothing pulled yet) or, as a last resort, from the last
// pulled record still in the ring (unverified: said so).
bool resume(Session& s, const LogState* saved, LogState& st) {
    const Header h = s.c.header();
    const u32 cons = *s.c.field(__builtin_offsetof(Header, log_cons));
    const u32 prod = *s.c.field(__builtin_offsetof(Header, log_prod));
    memcpy(st.nonce, h.nonce, sizeof st.nonce);
    if (saved != nullptr && memcmp(saved->nonce, h.nonce, 16) == 0) {
        st = *saved;
        // The ring is per boot and counts from 0, so log_cons names the next record.
        if (cons != st.next_index) {
            fprintf(stderr,
                    "keelctl: AUDIT CHAIN BROKEN: records %llu..%u were pulled by another reader\n",
                    (unsigned long long)st.next_index, cons);
            return false;
        }
        // The last record this state verified, if not yet reused, must be unchanged.
        if (cons != 0 && prod - (cons - 1) <= kLogSlots) {
            AuditRecord last = ring_record(s, cons - 1);
            u8 h2[32];
            crypto::sha256(&last, sizeof last, h2);
            if (memcmp(h2, st.head, 32) != 0) {
                fprintf(
                    stderr,
                    "keelctl: AUDIT CHAIN BROKEN: record %u was rewritten after it was verified\n",
                    cons - 1);
                return false;
            }
        }
        return true;
    }
    audit_chain_start(h.nonce, st.head);
    st.next_index = 0;
    if (cons != 0) {
        AuditRecord last = ring_record(s, cons - 1);
        crypto::sha256(&last, sizeof last, st.head);
        st.next_index = last.index + 1;
        fprintf(stderr,
                "keelctl: no state for this boot: records before %llu were not verified here\n",
                (unsigned long long)st.next_index);
        st.session = kSessionUnknown;
    }
    return true;
}

// The MAC of each record (docs/mailbox.md §5): from a Session record on, the records carry
// that session's log key's MAC; before the first, none. A MAC that does not verify with a
// key this controller holds is a forgery (false); records of a session whose key is not
// here are counted in `unverified`.
bool check_macs(const Session& s, const std::vector<AuditRecord>& recs, LogState& st, u64& verified,
                u64& unverified) {
    const SessionState& keys = const_cast<Session&>(s).c.state();
    for (usize i = 0; i < recs.size(); ++i) {
        const AuditRecord& r = recs[i];
        if (r.kind == static_cast<u32>(AuditKind::Session)) st.session = r.vm_id;
        const u8 zero[sizeof r.mac] = {};
        const bool has_mac = memcmp(r.mac, zero, sizeof zero) != 0;
        const u8* key = st.session == kSessionUnknown ? nullptr : keys.log_key(st.session);
        if (st.session == 0 && !has_mac) continue; // before the first session: none
        if (key == nullptr) {
            // Resumed without state, or another controller's session: any key we hold?
            bool any = false;
            for (const SessionState::LogKey& k : keys.log_keys)
                any = any || check_record(k.key, r) == Status::Ok;
            any ? ++verified : ++unverified;
            continue;
        }
        if (!has_mac || check_record(*reinterpret_cast<const u8(*)[32]>(key), r) != Status::Ok) {
            fprintf(stderr,
                    "keelctl: AUDIT LOG FORGED: record %llu does not carry session %u's MAC\n",
                    (unsigned long long)(st.next_index + i), st.session);
            return false;
        }
        ++verified;
    }
    return true;
}

} // namespace

int cmd_log(Session& s, const Args& a) {
    bool follow = false;
    std::string path = default_log_state_path(s.opt.mbox);
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i] == "--follow")
            follow = true;
        else if (a[i] == "--state" && i + 1 < a.size())
            path = a[++i];
        else
            return kExitUsage;
    }
    LogState saved, st;
    const bool have = load_log_state(path, saved);
    if (!resume(s, have ? &saved : nullptr, st)) return kExitChainBroken;
    u64 verified = 0, macs_ok = 0, macs_unknown = 0;
    for (;;) {
        const std::vector<AuditRecord> recs = s.c.pull_log();
        usize bad = 0;
        if (!recs.empty() &&
            audit_verify(recs.data(), recs.size(), st.head, st.next_index, &bad) != Status::Ok) {
            fprintf(stderr, "keelctl: AUDIT CHAIN BROKEN at record %llu\n",
                    (unsigned long long)(st.next_index + bad));
            return kExitChainBroken; // the state keeps the last good head: a rerun fails too
        }
        if (!check_macs(s, recs, st, macs_ok, macs_unknown)) return kExitChainBroken;
        for (const AuditRecord& r : recs)
            print(s, r);
        st.next_index += recs.size();
        verified += recs.size();
        if (!recs.empty() && !save_log_state(path, st))
            fprintf(stderr, "keelctl: cannot write %s: the next run cannot continue the chain\n",
                    path.c_str());
        fflush(stdout);
        if (!follow) break;
        usleep(200000);
    }
    if (!s.opt.json)
        printf("audit chain verified: %llu new records, %llu in all; %llu MACs verified, %llu "
               "without a key here\n",
               (unsigned long long)verified, (unsigned long long)st.next_index,
               (unsigned long long)macs_ok, (unsigned long long)macs_unknown);
    return kExitOk;
}

} // namespace keelctl
