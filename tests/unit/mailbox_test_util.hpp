// Shared fixtures for the mailbox unit tests (tests/unit/mailbox_*_test.cpp): a P-384
// controller key made in the test with mbedTLS (the same library keel-sign uses), a
// 4 MiB in-memory "BAR", a fake VmBackend that records what the service asked for,
// and a tiny controller that does the session handshake and posts MACed commands the
// way keelctl does (§3.6, §4.2).
// Not a *_test.cpp, so the unit-test glob does not compile it on its own.
#pragma once

#include <gtest/gtest.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "crypto/arena.hpp"
#include "crypto/sha2.hpp"
#include "fake_vm_states.hpp"
#include "hypervisor/mailbox/service.hpp"
#include "hypervisor/mailbox/session_crypto.hpp"
#include "test_p384_key.hpp"

namespace keel::mailbox::test {

// TestKey, test_rng: tests/unit/test_p384_key.hpp (shared with the fuzz target).
// Records every backend call; each mechanic can be told to fail.
class FakeBackend final : public VmBackend {
public:
    Status reserve_result = Status::Ok, start_result = Status::Ok, stop_result = Status::Ok;
    Status console_result = Status::Ok;
    bool ended_flag[kMaxVms + 1] = {};
    u32 reserves = 0, releases = 0, starts = 0, stops = 0, forced_stops = 0;
    u64 now = 1000;
    std::vector<u8> loaded[kMaxVms + 1];
    std::vector<u8> console_in[kMaxVms + 1];

    FakeVmStates vm_states;

    Status reserve(u32 id, u64, u64) override {
        ++reserves;
        return reserve_result != Status::Ok ? reserve_result : vm_states.apply(id, VmEvent::Create);
    }
    Status load(u32 id, ImageKind, u64, const SharedRegion& bulk, u64 off, u64 len,
                crypto::Sha256& h) override {
        std::vector<u8> buf(len);
        KEEL_TRY(bulk.copy_in(off, buf.data(), len));
        h.update(buf.data(), len);
        loaded[id].insert(loaded[id].end(), buf.begin(), buf.end());
        return Status::Ok;
    }
    Status start(u32 id, const char*) override {
        ++starts;
        return start_result != Status::Ok ? start_result : vm_states.apply(id, VmEvent::Start);
    }
    Status stop(u32 id, bool forced) override {
        ++stops, forced_stops += forced;
        return stop_result != Status::Ok ? stop_result : vm_states.stop(id);
    }
    Status seal(u32 id) override { return vm_states.apply(id, VmEvent::LoadComplete); }
    // A test ends the guest by setting ended_flag; the state follows as the manager's would.
    VmLifeState state(u32 id) override {
        if (ended_flag[id]) (void)vm_states.apply(id, VmEvent::GuestEnded);
        return vm_states.st[id];
    }
    Status release(u32 id) override {
        ++releases, loaded[id].clear(), ended_flag[id] = false;
        vm_states.free(id);
        return Status::Ok;
    }
    u32 console_room = ~0u; // bytes the fake UART FIFO takes before it reports Busy
    Status console_input(u32 id, u8 b) override {
        if (console_result != Status::Ok) return console_result;
        if (console_room == 0) return Status::Busy;
        --console_room;
        console_in[id].push_back(b);
        return Status::Ok;
    }
    void metrics(u32, VmMetrics& m) override { m.exits = 42; }
    u32 node_of[kMaxVms + 1] = {};
    u32 mem_node(u32 id) override { return node_of[id]; }
    Status attach_vf(u32 id, u16 rid, u32* why) override {
        vf_calls.push_back({id, rid, true});
        *why = vf_why;
        return vf_result;
    }
    Status detach_vf(u32 id, u16 rid, u32* why) override {
        vf_calls.push_back({id, rid, false});
        *why = vf_why;
        return vf_result;
    }
    u32 dma_faults(u32) override { return 3; }
    struct VfCall {
        u32 id;
        u16 rid;
        bool attach;
    };
    std::vector<VfCall> vf_calls;
    Status vf_result = Status::Ok;
    u32 vf_why = 0;
    PlatformReply platform_reply{};
    void platform(PlatformReply& out) override { out = platform_reply; }
    HostState host() override { return {0xe, 1 << 30, 1 << 30}; }
    u64 now_ms() override { return now; }
};

constexpr u64 kRegion = kMinRegionSize;

// A seed as the hypervisor derives it, from fake "CPU words" (distinct per `salt`).
inline entropy::Seed test_seed(u64 salt, u64 boot_counter = 3) {
    entropy::Inputs in;
    in.cpu_name = "TEST";
    for (usize i = 0; i < entropy::kCpuWords; ++i)
        in.cpu[i] = (salt + 1) * 0x9e3779b97f4a7c15ull + i * 0x0123456789abcdefull + 1;
    in.cpu_count = entropy::kCpuWords;
    in.boot_counter = boot_counter;
    entropy::Seed s;
    EXPECT_EQ(entropy::derive_seed(in, s, nullptr), Status::Ok);
    return s;
}

// The controller's ephemeral key for session n (any 32 bytes make an X25519 key).
inline void ctl_private(u32 n, u8 (&out)[crypto::kX25519Size]) {
    for (usize i = 0; i < sizeof out; ++i)
        out[i] = static_cast<u8>(0x40 + 7 * i + n);
}
inline int host_rng(void* state, unsigned char* out, size_t n) { return test_rng(state, out, n); }

// The controller's side: header fields, posting, pulling. Reads/writes the buffer as
// the real controller would (it is the same memory the service sees).
struct Box {
    std::unique_ptr<u64[]> mem{new u64[kRegion / 8]()};
    std::unique_ptr<Service> svc{new Service()};
    FakeBackend be;
    TestKey key{7};
    u64 seq = 100;
    u32 resp_seen = 0;
    SessionKeys keys{};
    u32 session = 0;
    u64 rng = 5;

    u8* bytes() { return reinterpret_cast<u8*>(mem.get()); }
    Header& hdr() { return *reinterpret_cast<Header*>(bytes()); }
    SessionArea offer() {
        SessionArea a;
        memcpy(&a, bytes() + kSessionOffset, sizeof a);
        return a;
    }
    // Attaches and, with a key, establishes session 1 (the HELLO takes seq 101).
    void attach(bool with_key = true, SessionLimits limits = {}, u64 seed_salt = 1) {
        u8 none[crypto::kP384PublicKeySize] = {};
        ASSERT_EQ(svc->attach(SharedRegion(bytes(), kRegion), be, with_key ? key.pub : none,
                              test_seed(seed_salt), limits),
                  Status::Ok);
        if (with_key) {
            ASSERT_EQ(handshake(), Status::Ok);
        }
    }
    // A HELLO for the published offer, signed by `signer` (default: the controller key).
    CommandSlot hello(u8 (&priv)[crypto::kX25519Size], HelloTranscript& t,
                      TestKey* signer = nullptr) {
        const SessionArea a = offer();
        ctl_private(a.offer_id, priv);
        HelloPayload p{};
        p.offer_id = a.offer_id;
        EXPECT_EQ(crypto::x25519_public(priv, p.ctl_pub, host_rng, &rng), Status::Ok);
        hello_transcript(hdr().nonce, a, p.ctl_pub, t);
        u8 digest[crypto::kSha384Size];
        hello_digest(t, digest);
        TestKey& k = signer != nullptr ? *signer : key;
        k.sign_digest(digest, p.signature);
        EXPECT_TRUE(k.ok);
        return hello_slot(p);
    }
    // A HELLO slot carrying `p` as it is (the next sequence number).
    CommandSlot hello_slot(const HelloPayload& p) {
        CommandSlot s{};
        s.seq = ++seq;
        s.opcode = static_cast<u16>(Opcode::Hello);
        s.length = sizeof p;
        memcpy(s.payload, &p, sizeof p);
        return s;
    }
    // Signs what `p` claims over `offer` (which may differ from the published one).
    void sign_hello(const SessionArea& offer, HelloPayload& p, HelloTranscript& t) {
        hello_transcript(hdr().nonce, offer, p.ctl_pub, t);
        u8 digest[crypto::kSha384Size];
        hello_digest(t, digest);
        key.sign_digest(digest, p.signature);
    }
    // The controller's key schedule for a HELLO Keel accepted.
    void adopt(const u8 (&priv)[crypto::kX25519Size], const HelloTranscript& t) {
        u8 shared[crypto::kX25519Size];
        ASSERT_EQ(crypto::x25519_shared(priv, t.keel_pub, shared, host_rng, &rng), Status::Ok);
        ASSERT_EQ(session_keys(shared, t, keys), Status::Ok);
        session = t.offer_id;
    }
    Status handshake() {
        u8 priv[crypto::kX25519Size];
        HelloTranscript t;
        ResponseSlot r;
        const Status st = send(hello(priv, t), &r);
        if (st != Status::Ok) return st;
        adopt(priv, t);
        EXPECT_EQ(check_response(keys.rsp, r), Status::Ok) << "the HELLO answer confirms the keys";
        return st;
    }
    CommandSlot make(Opcode op, u32 vm, const void* payload = nullptr, u32 len = 0) {
        CommandSlot s{};
        s.seq = ++seq;
        s.session_id = session;
        s.opcode = static_cast<u16>(op);
        s.length = len;
        s.vm_id = vm;
        if (len) memcpy(s.payload, payload, len);
        return s;
    }
    void mac(CommandSlot& s) { ASSERT_EQ(mac_command(keys.cmd, s), Status::Ok); }
    void post(const CommandSlot& s) {
        memcpy(bytes() + kCmdRingOffset + (hdr().cmd_prod % kCmdSlots) * sizeof s, &s, sizeof s);
        ++hdr().cmd_prod;
    }
    ResponseSlot& resp(u32 i) {
        return *reinterpret_cast<ResponseSlot*>(bytes() + kRespRingOffset +
                                                (i % kRespSlots) * sizeof(ResponseSlot));
    }
    // MACs, posts, polls once, returns the response's status and pulls it.
    Status call(Opcode op, u32 vm, const void* payload = nullptr, u32 len = 0,
                ResponseSlot* out = nullptr) {
        CommandSlot s = make(op, vm, payload, len);
        mac(s);
        return send(s, out);
    }
    Status send(const CommandSlot& s, ResponseSlot* out = nullptr) {
        post(s);
        svc->poll();
        EXPECT_EQ(hdr().resp_prod, resp_seen + 1) << "exactly one response per command";
        ResponseSlot r = resp(resp_seen++);
        hdr().resp_cons = resp_seen;
        if (out) *out = r;
        return static_cast<Status>(r.status);
    }
    const AuditRecord& log(u32 i) {
        return *reinterpret_cast<const AuditRecord*>(bytes() + kLogRingOffset +
                                                     (i % kLogSlots) * sizeof(AuditRecord));
    }
};

inline CreateVmPayload create_payload(const char* name, u64 kernel_size, const u8* kernel) {
    CreateVmPayload p{};
    memcpy(p.name, name, std::min(strlen(name), sizeof p.name)); // NUL-padded, not terminated
    p.cpu_mask = 2;
    p.mem_bytes = 64 * MiB;
    p.kernel_size = kernel_size;
    crypto::sha256(kernel, kernel_size, p.kernel_sha256);
    return p;
}

} // namespace keel::mailbox::test
