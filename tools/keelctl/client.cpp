#include "tools/keelctl/client.hpp"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/sha2.hpp"

namespace keelctl {
namespace {
double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
// Sequence numbers: wall-clock microseconds, so separate keelctl runs keep increasing
// without shared state (docs/mailbox.md §4.3).
u64 next_seq(u64 last) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    u64 us = static_cast<u64>(ts.tv_sec) * 1000000 + static_cast<u64>(ts.tv_nsec) / 1000;
    return us > last ? us : last + 1;
}
// The host's CSPRNG (getrandom(2)) in mbedTLS's f_rng shape.
int os_random(void*, unsigned char* out, size_t n) {
    while (n > 0) {
        const ssize_t got = getrandom(out, n, 0);
        if (got <= 0) return -1;
        out += got, n -= static_cast<size_t>(got);
    }
    return 0;
}
bool all_zero(const u8* p, usize n) {
    u8 acc = 0;
    for (usize i = 0; i < n; ++i)
        acc = static_cast<u8>(acc | p[i]);
    return acc == 0;
}
} // namespace

Client::~Client() {
    if (base_) munmap(const_cast<u8*>(base_), size_);
}

bool Client::open(const std::string& path, std::string& err) {
    int fd = ::open(path.c_str(), O_RDWR);
    if (fd < 0) return err = "cannot open " + path + ": " + strerror(errno), false;
    struct stat st;
    fstat(fd, &st);
    size_ = static_cast<u64>(st.st_size);
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) return err = "cannot map " + path, false;
    base_ = static_cast<volatile u8*>(p);
    return true;
}

Header Client::header() const {
    Header h;
    memcpy(&h, const_cast<const u8*>(base_), sizeof h);
    return h;
}

SessionArea Client::offer() const {
    SessionArea a{};
    for (int tries = 0; tries < 100; ++tries) {
        const u32 id = *field(kSessionOffset);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        memcpy(&a, const_cast<const u8*>(base_) + kSessionOffset, sizeof a);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (id != 0 && a.offer_id == id && *field(kSessionOffset) == id) return a;
        usleep(1000);
    }
    a.offer_id = 0;
    return a;
}

bool Client::wait_ready(double timeout_s) {
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        Header h = header();
        if (h.magic == kMagic && h.state == 1) return true;
        usleep(20000);
    }
    return false;
}

Status Client::handshake(std::string& err) {
    const Header h = header();
    const SessionArea a = offer();
    if (a.offer_id == 0) return err = "no session offer in the mailbox", Status::NotFound;
    if (!have_key_) return err = "no controller key", Status::AuthFailed;
    u8 priv[crypto::kX25519Size];
    if (os_random(nullptr, priv, sizeof priv) != 0)
        return err = "getrandom failed", Status::HardwareFault;
    HelloPayload p{};
    p.offer_id = a.offer_id;
    if (crypto::x25519_public(priv, p.ctl_pub, os_random, nullptr) != Status::Ok)
        return err = "X25519 key generation failed", Status::InvalidArgument;
    HelloTranscript t;
    hello_transcript(h.nonce, a, p.ctl_pub, t);
    u8 digest[crypto::kSha384Size];
    hello_digest(t, digest);
    if (!sign::sign_digest(key_, digest, *reinterpret_cast<u8(*)[96]>(p.signature), err))
        return Status::InvalidArgument;
    u8 shared[crypto::kX25519Size];
    SessionState next = state_;
    Status s = crypto::x25519_shared(priv, a.keel_pub, shared, os_random, nullptr);
    if (s == Status::Ok) s = session_keys(shared, t, next.keys);
    memset(priv, 0, sizeof priv);
    memset(shared, 0, sizeof shared);
    if (s != Status::Ok) return err = "Keel's offered key is not usable", s;
    if (memcmp(next.nonce, h.nonce, 16) != 0) next.log_keys.clear(); // another boot
    memcpy(next.nonce, h.nonce, 16);
    next.session = a.offer_id;
    CommandSlot slot{};
    last_seq_ = next_seq(last_seq_ > a.seq_floor ? last_seq_ : a.seq_floor);
    slot.seq = last_seq_;
    slot.opcode = static_cast<u16>(Opcode::Hello);
    slot.length = sizeof p;
    memcpy(slot.payload, &p, sizeof p);
    const SessionState old = state_;
    state_ = next; // the answer is MACed with the new response key
    ResponseSlot r;
    Reply rep = post_raw(slot, r);
    // Busy: a failed HELLO (someone else's junk) just closed the door for 100 ms (§4.4).
    for (int i = 0;
         i < 50 && rep == Reply::Unauthenticated && static_cast<Status>(r.status) == Status::Busy;
         ++i) {
        usleep(150000);
        last_seq_ = next_seq(last_seq_);
        slot.seq = last_seq_;
        rep = post_raw(slot, r);
    }
    if (rep == Reply::Authentic && r.status == 0) {
        SessionState::LogKey k{};
        k.session = next.session;
        memcpy(k.key, next.keys.log, 32);
        state_.log_keys.push_back(k);
        // The log keys of the last 64 sessions: older records of the boot have long been
        // pulled (the ring holds 256), and the state file stays small.
        if (state_.log_keys.size() > 64) state_.log_keys.erase(state_.log_keys.begin());
        return Status::Ok;
    }
    state_ = old;
    if (rep == Reply::Timeout) return err = "no answer to the HELLO", Status::Timeout;
    if (rep == Reply::Forged) return err = "FORGED answer to the HELLO", Status::Corrupt;
    err = std::string("HELLO refused: ") + status_name(static_cast<Status>(r.status));
    return static_cast<Status>(r.status);
}

CommandSlot Client::make(Opcode op, u32 vm_id, const void* payload, u32 len) {
    CommandSlot s{};
    last_seq_ = next_seq(last_seq_);
    s.seq = last_seq_;
    s.session_id = state_.session;
    s.opcode = static_cast<u16>(op);
    s.length = len;
    s.vm_id = vm_id;
    if (len) memcpy(s.payload, payload, len);
    return s;
}

void Client::mac(CommandSlot& s) {
    if (state_.session != 0) (void)mac_command(state_.keys.cmd, s);
}

Reply Client::judge(const ResponseSlot& r) const {
    if (r.session_id != 0)
        return r.session_id == state_.session && check_response(state_.keys.rsp, r) == Status::Ok
                   ? Reply::Authentic
                   : Reply::Forged;
    // Keel MACs every answer to a command that authenticated; an answer without a MAC is
    // a rejection, never a success.
    if (!all_zero(r.mac, sizeof r.mac) || r.status == 0) return Reply::Forged;
    return Reply::Unauthenticated;
}

void Client::drain_responses(u64 want_seq, ResponseSlot* out, bool* found) {
    volatile u32* rprod = field(__builtin_offsetof(Header, resp_prod));
    volatile u32* rcons = field(__builtin_offsetof(Header, resp_cons));
    u32 rc = *rcons;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    while (*rprod != rc) {
        ResponseSlot resp;
        memcpy(&resp,
               const_cast<const u8*>(base_) + kRespRingOffset + (rc % kRespSlots) * sizeof resp,
               sizeof resp);
        ++rc;
        __atomic_thread_fence(__ATOMIC_RELEASE);
        *rcons = rc;
        if (out != nullptr && resp.seq == want_seq) {
            *out = resp;
            *found = true;
            return;
        }
    }
}

bool Client::post_nowait(const CommandSlot& slot, double timeout_s) {
    volatile u32* prod = field(__builtin_offsetof(Header, cmd_prod));
    volatile u32* cons = field(__builtin_offsetof(Header, cmd_cons));
    const double end = now_s() + timeout_s;
    while (*prod - *cons >= kCmdSlots) { // wait for ring room, pulling answers meanwhile
        drain_responses(0, nullptr, nullptr);
        if (now_s() > end) return false;
        usleep(200);
    }
    const u32 p = *prod;
    memcpy(const_cast<u8*>(base_) + kCmdRingOffset + (p % kCmdSlots) * sizeof slot, &slot,
           sizeof slot);
    __atomic_thread_fence(__ATOMIC_RELEASE); // the slot before the index that publishes it
    *prod = p + 1;
    drain_responses(0, nullptr, nullptr);
    return true;
}

Reply Client::post_raw(const CommandSlot& slot, ResponseSlot& resp, double timeout_s) {
    if (!post_nowait(slot, timeout_s)) return Reply::Timeout;
    const double end = now_s() + timeout_s;
    while (now_s() < end) {
        bool found = false;
        drain_responses(slot.seq, &resp, &found);
        if (found) return judge(resp);
        usleep(1000);
    }
    return Reply::Timeout;
}

Reply Client::call(Opcode op, u32 vm_id, const void* payload, u32 len, ResponseSlot& resp,
                   double timeout_s, void (*tamper)(CommandSlot&)) {
    CommandSlot s = make(op, vm_id, payload, len);
    mac(s);
    if (tamper) tamper(s);
    return post_raw(s, resp, timeout_s);
}

bool Client::write_bulk(u64 offset, const u8* data, u64 len) {
    Header h = header();
    if (offset > h.bulk_size || len > h.bulk_size - offset) return false;
    memcpy(const_cast<u8*>(base_) + h.bulk_offset + offset, data, len);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return true;
}

std::vector<AuditRecord> Client::pull_log() {
    std::vector<AuditRecord> out;
    volatile u32* prod = field(__builtin_offsetof(Header, log_prod));
    volatile u32* cons = field(__builtin_offsetof(Header, log_cons));
    u32 c = *cons;
    const u32 p = *prod;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (p - c > kLogSlots) return out;
    for (; c != p; ++c) {
        AuditRecord r;
        memcpy(&r, const_cast<const u8*>(base_) + kLogRingOffset + (c % kLogSlots) * sizeof r,
               sizeof r);
        out.push_back(r);
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    *cons = c;
    return out;
}

} // namespace keelctl
