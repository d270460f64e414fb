// `keelctl hostile CASE`: hostile controller input for the emulator tests. Each case
// sends what a broken or malicious controller would, checks the hypervisor's answer
// is the expected error, and checks it still answers a valid PING afterwards.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/keelctl/commands.hpp"

namespace keelctl {
namespace {

bool expect(const char* what, const ResponseSlot& r, Status want) {
    Status got = static_cast<Status>(r.status);
    printf("hostile %s: %s (expected %s)\n", what, status_name(got), status_name(want));
    return got == want;
}

bool alive(Session& s) {
    ResponseSlot r;
    bool ok = s.c.call(Opcode::Ping, 0, nullptr, 0, r, 60) && r.status == 0;
    printf("hypervisor %s\n", ok ? "still answers" : "DOES NOT ANSWER");
    return ok;
}

} // namespace

int cmd_hostile(Session& s, const Args& a) {
    if (a.empty()) return kExitUsage;
    const std::string c = a[0];
    ResponseSlot r{};
    bool ok = true;
    if (c == "bad-sig") {
        ok = s.c.call(Opcode::Ping, 0, nullptr, 0, r, 60, [](CommandSlot& x) {
            x.signature[5] ^= 0x40;
        }) && expect("bad signature", r, Status::BadSignature);
    } else if (c == "replay") {
        CommandSlot x = s.c.make(Opcode::Ping, 0, nullptr, 0);
        s.c.sign(x);
        ok = s.c.post_raw(x, r) && expect("first copy", r, Status::Ok);
        ok = ok && s.c.post_raw(x, r) && expect("replayed copy", r, Status::Replayed);
        CommandSlot older = s.c.make(Opcode::Ping, 0, nullptr, 0);
        older.seq = x.seq - 1; // out of order: below the last accepted
        s.c.sign(older);
        ok = ok && s.c.post_raw(older, r) && expect("out-of-order", r, Status::Replayed);
    } else if (c == "wrong-nonce") {
        ok = s.c.call(Opcode::Ping, 0, nullptr, 0, r, 60, nullptr) && r.status == 0;
        CommandSlot x = s.c.make(Opcode::Ping, 0, nullptr, 0);
        x.nonce[0] ^= 1;
        s.c.sign(x); // validly signed, but for another boot
        ok = ok && s.c.post_raw(x, r) && expect("wrong nonce", r, Status::AuthFailed);
    } else if (c == "garbage") {
        CommandSlot x;
        for (size_t i = 0; i < sizeof x; ++i)
            reinterpret_cast<u8*>(&x)[i] = static_cast<u8>(i * 37 + 11);
        x.seq = 1234567;
        ok = s.c.post_raw(x, r) && expect("garbage slot", r, Status::Unsupported);
        CommandSlot y = s.c.make(Opcode::List, 0, nullptr, 0);
        y.length = 5000; // oversized
        s.c.sign(y);
        ok = ok && s.c.post_raw(y, r) && expect("oversized length", r, Status::OutOfRange);
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
        ok = s.c.call(Opcode::LoadImage, 1, &l, sizeof l, r, 60) &&
             expect("bulk range past the window", r, Status::OutOfRange);
    } else if (c == "flood") {
        // 200 unsigned commands in a row, far more than the ring holds at once.
        int answered = 0;
        for (int i = 0; i < 200; ++i) {
            CommandSlot x = s.c.make(Opcode::Ping, 0, nullptr, 0); // no signature
            if (s.c.post_raw(x, r, 60) && r.status == static_cast<u32>(Status::BadSignature))
                ++answered;
        }
        printf("hostile flood: %d/200 rejected as bad signature\n", answered);
        ok = answered == 200;
    } else {
        return kExitUsage;
    }
    ok = alive(s) && ok;
    return ok ? kExitOk : kExitRefused;
}

} // namespace keelctl
