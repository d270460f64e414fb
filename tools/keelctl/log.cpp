// keelctl log [--follow] [--state FILE]: pulls audit records (advancing log_cons),
// verifies index continuity and the SHA-256 chain (docs/mailbox.md §5) and prints
// them. Verification continues across runs through a state file (log_state.hpp): the
// next run checks that the last record it verified, if still in the ring, is unchanged,
// and verifies new records against that record's hash. Exit 4 when anything is broken.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/mailbox/audit.hpp"
#include "hypervisor/mailbox/command.hpp"
#include "tools/keelctl/commands.hpp"
#include "tools/keelctl/log_state.hpp"

namespace keelctl {
namespace {

void print(const Session& s, const AuditRecord& r) {
    const char* kinds[] = {"boot", "command", "rejected", "gap", "vm-event"};
    const std::string detail(reinterpret_cast<const char*>(r.detail),
                             strnlen(reinterpret_cast<const char*>(r.detail), sizeof r.detail));
    const char* kind = r.kind < 5 ? kinds[r.kind] : "?";
    const char* st = status_name(static_cast<Status>(r.status));
    if (s.opt.json)
        printf("{\"index\":%llu,\"time_ms\":%llu,\"kind\":\"%s\",\"seq\":%llu,\"op\":\"%s\","
               "\"status\":\"%s\",\"vm\":%u,\"detail\":\"%s\"}\n",
               (unsigned long long)r.index, (unsigned long long)r.time_ms, kind,
               (unsigned long long)r.seq, opcode_name(static_cast<u16>(r.opcode)), st, r.vm_id,
               detail.c_str());
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
    u64 verified = 0;
    for (;;) {
        const std::vector<AuditRecord> recs = s.c.pull_log();
        usize bad = 0;
        if (!recs.empty() &&
            audit_verify(recs.data(), recs.size(), st.head, st.next_index, &bad) != Status::Ok) {
            fprintf(stderr, "keelctl: AUDIT CHAIN BROKEN at record %llu\n",
                    (unsigned long long)(st.next_index + bad));
            return kExitChainBroken; // the state keeps the last good head: a rerun fails too
        }
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
        printf("audit chain verified: %llu new records, %llu in all\n",
               (unsigned long long)verified, (unsigned long long)st.next_index);
    return kExitOk;
}

} // namespace keelctl
