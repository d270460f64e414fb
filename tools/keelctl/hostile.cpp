// `keelctl hostile CASE`: hostile controller input for the emulator tests. Each case
// sends what a broken or malicious writer of the mailbox would, checks the hypervisor's
// answer is the expected error, and checks it still answers a valid PING afterwards.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto/sha2.hpp"
#include "tools/keelctl/commands.hpp"

namespace keelctl {
namespace {

bool expect(const char* what, Reply rep, const ResponseSlot& r, Status want) {
    Status got = static_cast<Status>(r.status);
    const char* how = rep == Reply::Authentic         ? "MACed"
                      : rep == Reply::Unauthenticated ? "unMACed"
                      : rep == Reply::Forged          ? "FORGED"
                                                      : "no answer";
    printf("hostile %s: %s, %s (expected %s)\n", what, status_name(got), how, status_name(want));
    return rep != Reply::Timeout && rep != Reply::Forged && got == want;
}

bool alive(Session& s) {
    ResponseSlot r;
    bool ok = s.c.call(Opcode::Ping, 0, nullptr, 0, r, 60) == Reply::Authentic && r.status == 0;
    printf("hypervisor %s\n", ok ? "still answers" : "DOES NOT ANSWER");
    return ok;
}

// Well-formed junk at full speed: the live session id, the next sequence numbers, a
// wrong MAC. Returns how many were posted.
u32 junk(Session& s, u32 n) {
    u32 sent = 0;
    for (u32 i = 0; i < n; ++i) {
        CommandSlot x = s.c.make(Opcode::Destroy, 1, nullptr, 0);
        s.c.mac(x);
        x.mac[i % kMacSize] ^= 0x5a;
        sent += s.c.post_nowait(x) ? 1u : 0u;
    }
    return sent;
}

// A small raw VM created, loaded and destroyed between bursts of junk: three
// state-changing commands that must all succeed.
bool state_changes_during_flood(Session& s, u32& sent) {
    const u8 kernel[8] = {'K', 'E', 'E', 'L', 'K', 'R', 'N', 'L'};
    CreateVmPayload p{};
    memcpy(p.name, "flood", 5);
    p.cpu_mask = 2;
    p.mem_bytes = 2 * MiB;
    p.kernel_size = sizeof kernel;
    crypto::sha256(kernel, sizeof kernel, p.kernel_sha256);
    ResponseSlot r;
    sent += junk(s, 300);
    if (s.call(Opcode::CreateVm, 0, &p, sizeof p, r) != Status::Ok) return false;
    VmInfo v;
    memcpy(&v, r.payload, sizeof v);
    sent += junk(s, 300);
    s.c.write_bulk(0, kernel, sizeof kernel);
    LoadImagePayload l{};
    l.length = sizeof kernel;
    if (s.call(Opcode::LoadImage, v.id, &l, sizeof l, r) != Status::Ok) return false;
    sent += junk(s, 300);
    return s.call(Opcode::Destroy, v.id, nullptr, 0, r) == Status::Ok;
}

} // namespace

int cmd_hostile(Session& s, const Args& a) {
    if (a.empty()) return kExitUsage;
    if (int rc = s.ensure_session(); rc != 0) return rc;
    const std::string c = a[0];
    ResponseSlot r{};
    bool ok = true;
    if (c == "bad-mac") {
        const Reply rep =
            s.c.call(Opcode::Ping, 0, nullptr, 0, r, 60, [](CommandSlot& x) { x.mac[5] ^= 0x40; });
        ok = expect("bad MAC", rep, r, Status::AuthFailed);
    } else if (c == "replay") {
        CommandSlot x = s.c.make(Opcode::Ping, 0, nullptr, 0);
        s.c.mac(x);
        ok = expect("first copy", s.c.post_raw(x, r), r, Status::Ok);
        ok = expect("replayed copy", s.c.post_raw(x, r), r, Status::Replayed) && ok;
        CommandSlot older = s.c.make(Opcode::Ping, 0, nullptr, 0);
        older.seq = x.seq - 1; // out of order: below the last accepted
        s.c.mac(older);
        ok = expect("out-of-order", s.c.post_raw(older, r), r, Status::Replayed) && ok;
    } else if (c == "wrong-session") {
        CommandSlot x = s.c.make(Opcode::Ping, 0, nullptr, 0);
        x.session_id += 1; // validly MACed, but for a session that does not exist
        s.c.mac(x);
        ok = expect("wrong session", s.c.post_raw(x, r), r, Status::Expired);
    } else if (c == "garbage") {
        CommandSlot x;
        for (size_t i = 0; i < sizeof x; ++i)
            reinterpret_cast<u8*>(&x)[i] = static_cast<u8>(i * 37 + 11);
        x.seq = 1234567;
        ok = expect("garbage slot", s.c.post_raw(x, r), r, Status::Unsupported);
        CommandSlot y = s.c.make(Opcode::List, 0, nullptr, 0);
        y.length = 5000; // oversized
        s.c.mac(y);
        ok = expect("oversized length", s.c.post_raw(y, r), r, Status::OutOfRange) && ok;
    } else if (c == "bad-index") {
        volatile u32* prod = s.c.field(__builtin_offsetof(Header, cmd_prod));
        const u32 saved = *prod;
        *prod = saved + 1000; // claims 1000 commands in a 32-slot ring
        usleep(300000);
        const u32 cons = *s.c.field(__builtin_offsetof(Header, cmd_cons));
        printf("hostile bad producer index: consumer %s\n",
               cons == saved ? "did not move" : "MOVED");
        ok = cons == saved;
        *prod = saved;
    } else if (c == "past-window") {
        LoadImagePayload l{};
        l.kind = 0;
        l.bulk_offset = s.c.header().bulk_size - 4096;
        l.length = 8192;
        ok = expect("bulk range past the window",
                    s.c.call(Opcode::LoadImage, 1, &l, sizeof l, r, 60), r, Status::OutOfRange);
    } else if (c == "bad-hello") {
        // A HELLO for the current offer with a signature that does not verify: refused,
        // and the genuine handshake right after still gets through (it meets the 100 ms
        // backoff and retries, §4.4).
        HelloPayload p{};
        p.offer_id = s.c.offer().offer_id;
        for (usize i = 0; i < sizeof p.ctl_pub; ++i)
            p.ctl_pub[i] = static_cast<u8>(i * 7 + 1);
        for (usize i = 0; i < sizeof p.signature; ++i)
            p.signature[i] = static_cast<u8>(i * 13 + 5);
        CommandSlot x = s.c.make(Opcode::Hello, 0, &p, sizeof p);
        x.session_id = 0;
        ok = expect("forged HELLO", s.c.post_raw(x, r), r, Status::BadSignature);
        const bool renewed = s.renew() == 0;
        printf("hostile bad-hello: the genuine handshake after it %s\n",
               renewed ? "succeeded" : "FAILED");
        ok = ok && renewed;
    } else if (c == "flood") {
        u32 sent = 0;
        ok = state_changes_during_flood(s, sent);
        printf("hostile flood: %u junk commands (live session id, wrong MAC) sent; state changes "
               "%s\n",
               sent, ok ? "all succeeded" : "FAILED");
    } else {
        return kExitUsage;
    }
    ok = alive(s) && ok;
    return ok ? kExitOk : kExitRefused;
}

} // namespace keelctl
