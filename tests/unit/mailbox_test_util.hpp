// Shared fixtures for the mailbox unit tests (tests/unit/mailbox_*_test.cpp): a P-384
// controller key made in the test with mbedTLS (the same library keel-sign uses), a
// 4 MiB in-memory "BAR", a fake VmBackend that records what the service asked for,
// and a tiny controller that posts signed commands the way keelctl does (§3.6).
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

namespace keel::mailbox::test {

// Deterministic "randomness" for key generation and signing: tests must not depend on
// /dev/urandom, and a fixed stream still gives valid, distinct nonces k per call.
inline int test_rng(void* state, unsigned char* out, size_t n) {
    auto* ctr = static_cast<u64*>(state);
    for (size_t i = 0; i < n; ++i) {
        *ctr = *ctr * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = static_cast<u8>(*ctr >> 56);
    }
    return 0;
}

struct TestKey {
    u8 d[48] = {};
    u8 pub[crypto::kP384PublicKeySize] = {};
    u64 rng = 0;

    explicit TestKey(u64 seed) : rng(seed) {
        (void)crypto::init(); // mbedTLS allocates from Keel's arena, as in keel-sign
        mbedtls_ecp_group grp;
        mbedtls_mpi md;
        mbedtls_ecp_point q;
        mbedtls_ecp_group_init(&grp);
        mbedtls_mpi_init(&md);
        mbedtls_ecp_point_init(&q);
        size_t olen = 0;
        int rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP384R1);
        if (rc == 0) rc = mbedtls_ecp_gen_keypair(&grp, &md, &q, test_rng, &rng);
        if (rc == 0) rc = mbedtls_mpi_write_binary(&md, d, sizeof d);
        if (rc == 0)
            rc = mbedtls_ecp_point_write_binary(&grp, &q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, pub,
                                                sizeof pub);
        mbedtls_ecp_point_free(&q);
        mbedtls_mpi_free(&md);
        mbedtls_ecp_group_free(&grp);
        EXPECT_EQ(rc, 0);
        EXPECT_EQ(olen, sizeof pub);
    }

    // Signs slot bytes [0, kSignedBytes) exactly as the controller does (§4).
    void sign(CommandSlot& slot) {
        u8 digest[crypto::kSha384Size];
        crypto::sha384(&slot, kSignedBytes, digest);
        mbedtls_ecp_group grp;
        mbedtls_mpi md, r, s;
        mbedtls_ecp_group_init(&grp);
        mbedtls_mpi_init(&md);
        mbedtls_mpi_init(&r);
        mbedtls_mpi_init(&s);
        int rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP384R1);
        if (rc == 0) rc = mbedtls_mpi_read_binary(&md, d, sizeof d);
        if (rc == 0)
            rc = mbedtls_ecdsa_sign(&grp, &r, &s, &md, digest, sizeof digest, test_rng, &rng);
        if (rc == 0) rc = mbedtls_mpi_write_binary(&r, slot.signature, 48);
        if (rc == 0) rc = mbedtls_mpi_write_binary(&s, slot.signature + 48, 48);
        mbedtls_mpi_free(&s);
        mbedtls_mpi_free(&r);
        mbedtls_mpi_free(&md);
        mbedtls_ecp_group_free(&grp);
        EXPECT_EQ(rc, 0);
    }
};

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
    HostState host() override { return {0xe, 1 << 30, 1 << 30}; }
    u64 now_ms() override { return now; }
};

constexpr u64 kRegion = kMinRegionSize;

// The controller's side: header fields, posting, pulling. Reads/writes the buffer as
// the real controller would (it is the same memory the service sees).
struct Box {
    std::unique_ptr<u64[]> mem{new u64[kRegion / 8]()};
    std::unique_ptr<Service> svc{new Service()};
    FakeBackend be;
    TestKey key{7};
    u64 seq = 100;
    u32 resp_seen = 0;

    u8* bytes() { return reinterpret_cast<u8*>(mem.get()); }
    Header& hdr() { return *reinterpret_cast<Header*>(bytes()); }
    void attach(bool with_key = true) {
        u8 nonce[16];
        for (u32 i = 0; i < 16; ++i)
            nonce[i] = static_cast<u8>(0xa0 + i);
        u8 none[crypto::kP384PublicKeySize] = {};
        ASSERT_EQ(svc->attach(SharedRegion(bytes(), kRegion), be, with_key ? key.pub : none, nonce),
                  Status::Ok);
    }
    CommandSlot make(Opcode op, u32 vm, const void* payload = nullptr, u32 len = 0) {
        CommandSlot s{};
        s.seq = ++seq;
        memcpy(s.nonce, hdr().nonce, 16);
        s.opcode = static_cast<u16>(op);
        s.length = len;
        s.vm_id = vm;
        if (len) memcpy(s.payload, payload, len);
        return s;
    }
    void post(const CommandSlot& s) {
        memcpy(bytes() + kCmdRingOffset + (hdr().cmd_prod % kCmdSlots) * sizeof s, &s, sizeof s);
        ++hdr().cmd_prod;
    }
    ResponseSlot& resp(u32 i) {
        return *reinterpret_cast<ResponseSlot*>(bytes() + kRespRingOffset +
                                                (i % kRespSlots) * sizeof(ResponseSlot));
    }
    // Signs, posts, polls once, returns the response's status and pulls it.
    Status call(Opcode op, u32 vm, const void* payload = nullptr, u32 len = 0,
                ResponseSlot* out = nullptr) {
        CommandSlot s = make(op, vm, payload, len);
        key.sign(s);
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
