// libFuzzer target for the mailbox's untrusted-input path, with a real controller key:
// the harness establishes a session once (a HELLO signed with a fixed P-384 key, the
// X25519 exchange, the key schedule) and snapshots the service, then every input starts
// from that snapshot and is, by its first byte:
//   even: raw shared memory: the bytes as a whole command ring plus the controller's
//         header fields (indices), unauthenticated, as an attacker writing the BAR sends;
//   odd:  authenticated commands: up to 8 slots whose bytes come from the input, each
//         given the live session id, the next sequence number and a valid MAC, so every
//         command handler (create, load, start, stop, destroy, console, update...) is reached
//         with hostile payloads; the tail of the input fills the bulk window.
// Each input also goes through decode_command() alone. Build: the `mailbox_fuzz` target;
// smoke run: ctest -R mailbox.fuzz_smoke; long: mailbox.fuzz_long (label long).
#include <string.h>

#include <new>

#include "../unit/fake_vm_states.hpp"
#include "../unit/test_p384_key.hpp"
#include "hypervisor/mailbox/command.hpp"
#include "hypervisor/mailbox/service.hpp"
#include "hypervisor/mailbox/session_crypto.hpp"

using namespace keel;
using namespace keel::mailbox;

namespace {

class NullBackend final : public VmBackend {
public:
    Status reserve(u32 id, u64, u64) override { return states.apply(id, VmEvent::Create); }
    Status load(u32, ImageKind, u64, const SharedRegion& bulk, u64 off, u64 len,
                crypto::Sha256& h) override {
        u8 buf[256];
        for (u64 d = 0; d < len; d += sizeof buf) {
            u64 n = len - d < sizeof buf ? len - d : sizeof buf;
            KEEL_TRY(bulk.copy_in(off + d, buf, n));
            h.update(buf, n);
        }
        return Status::Ok;
    }
    Status start(u32 id, const char*) override { return states.apply(id, VmEvent::Start); }
    Status stop(u32 id, bool) override { return states.stop(id); }
    Status seal(u32 id) override { return states.apply(id, VmEvent::LoadComplete); }
    VmLifeState state(u32 id) override { return states.st[id]; }
    Status release(u32 id) override {
        states.free(id);
        return Status::Ok;
    }
    FakeVmStates states;
    Status console_input(u32, u8) override { return Status::Ok; }
    void metrics(u32, VmMetrics&) override {}
    u32 mem_node(u32) override { return kNoNode; }
    Status attach_vf(u32, u16, u32* why) override {
        *why = 1;
        return Status::NotFound;
    }
    Status detach_vf(u32, u16, u32* why) override {
        *why = 1;
        return Status::NotFound;
    }
    u32 dma_faults(u32) override { return 0; }
    void platform(PlatformReply&) override {}
    HostState host() override { return {}; }
    u64 now_ms() override { return 0; }
};

alignas(64) u8 g_region[kMinRegionSize];
alignas(64) u8 g_update_region[64 * 1024]; // UPDATE stages images here (docs/mailbox.md §3.9)
alignas(64) u8 g_region_snap[kBulkOffset];
NullBackend g_backend;
FakeVmStates g_states_snap;
alignas(Service) u8 g_service_mem[sizeof(Service)];
alignas(Service) u8 g_service_snap[sizeof(Service)];
Service& service() { return *reinterpret_cast<Service*>(g_service_mem); }
SessionKeys g_keys;
u32 g_session = 0;

int fixed_rng(void* ctr, unsigned char* out, size_t n) {
    for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<u8>(++*static_cast<u32*>(ctr) * 151u);
    return 0;
}

void post(const CommandSlot& s) {
    Header* h = reinterpret_cast<Header*>(g_region);
    memcpy(g_region + kCmdRingOffset + (h->cmd_prod % kCmdSlots) * sizeof s, &s, sizeof s);
    ++h->cmd_prod;
}

// Once: attach with a real key, answer offer 1 with a signed HELLO, keep the keys, and
// snapshot the service, the shared header/rings and the backend.
bool establish() {
    static test::TestKey key{7};
    if (!key.ok) return false;
    new (g_service_mem) Service();
    entropy::Inputs in;
    in.cpu_name = "FUZZ";
    for (usize i = 0; i < entropy::kCpuWords; ++i)
        in.cpu[i] = 0x1234567890abcdefull * (i + 3) + 1;
    in.cpu_count = entropy::kCpuWords;
    entropy::Seed seed;
    if (entropy::derive_seed(in, seed, nullptr) != Status::Ok) return false;
    if (service().attach(SharedRegion(g_region, sizeof g_region), g_backend, key.pub, seed) !=
        Status::Ok)
        return false;
    // UPDATE reaches the staging and the boot stage's verifier (trusting the test key; the
    // fuzzer cannot sign, so Verify always ends in a refusal and Apply in BadState).
    Service::UpdateSetup up;
    up.region = g_update_region;
    up.region_size = sizeof g_update_region;
    memcpy(up.expect.anchor.public_key, key.pub, sizeof up.expect.anchor.public_key);
    up.expect.policy = image::Policy{image::Arch::Arm64, 1};
    service().set_update(up);
    SessionArea offer;
    memcpy(&offer, g_region + kSessionOffset, sizeof offer);
    u8 priv[crypto::kX25519Size];
    for (usize i = 0; i < sizeof priv; ++i)
        priv[i] = static_cast<u8>(i * 5 + 9);
    u32 ctr = 0;
    HelloPayload p{};
    p.offer_id = offer.offer_id;
    if (crypto::x25519_public(priv, p.ctl_pub, fixed_rng, &ctr) != Status::Ok) return false;
    HelloTranscript t;
    hello_transcript(reinterpret_cast<Header*>(g_region)->nonce, offer, p.ctl_pub, t);
    u8 digest[crypto::kSha384Size];
    hello_digest(t, digest);
    key.sign_digest(digest, p.signature);
    CommandSlot s{};
    s.seq = 1;
    s.opcode = static_cast<u16>(Opcode::Hello);
    s.length = sizeof p;
    memcpy(s.payload, &p, sizeof p);
    post(s);
    service().poll();
    u8 shared[crypto::kX25519Size];
    if (crypto::x25519_shared(priv, offer.keel_pub, shared, fixed_rng, &ctr) != Status::Ok ||
        session_keys(shared, t, g_keys) != Status::Ok || service().sessions().active_id() != 1)
        return false;
    g_session = 1;
    reinterpret_cast<Header*>(g_region)->resp_cons = reinterpret_cast<Header*>(g_region)->resp_prod;
    memcpy(g_service_snap, g_service_mem, sizeof g_service_snap);
    memcpy(g_region_snap, g_region, sizeof g_region_snap);
    g_states_snap = g_backend.states;
    return true;
}

void restore() {
    memcpy(g_service_mem, g_service_snap, sizeof g_service_snap);
    memcpy(g_region, g_region_snap, sizeof g_region_snap);
    g_backend.states = g_states_snap;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, size_t size) {
    CommandSlot slot{};
    memcpy(&slot, data, size < sizeof slot ? size : sizeof slot);
    Command c;
    DecodeLimits limits;
    limits.bulk_size = kMinRegionSize - kBulkOffset;
    (void)decode_command(slot, limits, c);

    static const bool ready = establish();
    if (!ready) __builtin_trap(); // the harness itself is broken: say so loudly
    restore();
    if (size == 0) return 0;
    if ((data[0] & 1) == 0) {
        const size_t ring = kCmdSlots * sizeof(CommandSlot);
        memcpy(g_region + kCmdRingOffset, data, size < ring ? size : ring);
        if (size >= 12)
            memcpy(g_region + __builtin_offsetof(Header, cmd_prod), data + size - 12, 12);
        for (int i = 0; i < 3; ++i)
            (void)service().poll();
        return 0;
    }
    // Authenticated: 480 input bytes a command (its MACed part), at most 8 commands.
    u64 seq = service().last_seq();
    size_t off = 1;
    for (int n = 0; n < 8 && off < size; ++n, off += kMacBytes) {
        CommandSlot s{};
        memcpy(&s, data + off, size - off < kMacBytes ? size - off : kMacBytes);
        s.seq = ++seq;
        s.session_id = g_session;
        if (mac_command(g_keys.cmd, s) != Status::Ok) __builtin_trap();
        post(s);
    }
    if (off < size) {
        const size_t bulk = size - off < 65536 ? size - off : 65536;
        memcpy(g_region + kBulkOffset, data + off, bulk);
    }
    Header* h = reinterpret_cast<Header*>(g_region);
    for (int i = 0; i < 4; ++i) {
        (void)service().poll();
        h->resp_cons = h->resp_prod; // the controller keeps pulling
        h->log_cons = h->log_prod;
    }
    return 0;
}
