#include "tools/keelctl/client.hpp"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
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
// without shared state (docs/mailbox.md §4).
u64 next_seq(u64 last) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    u64 us = static_cast<u64>(ts.tv_sec) * 1000000 + static_cast<u64>(ts.tv_nsec) / 1000;
    return us > last ? us : last + 1;
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

bool Client::wait_ready(double timeout_s) {
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        Header h = header();
        if (h.magic == kMagic && h.state == 1) return true;
        usleep(20000);
    }
    return false;
}

CommandSlot Client::make(Opcode op, u32 vm_id, const void* payload, u32 len) {
    CommandSlot s{};
    Header h = header();
    last_seq_ = next_seq(last_seq_);
    s.seq = last_seq_;
    memcpy(s.nonce, h.nonce, sizeof s.nonce);
    s.opcode = static_cast<u16>(op);
    s.length = len;
    s.vm_id = vm_id;
    if (len) memcpy(s.payload, payload, len);
    return s;
}

void Client::sign(CommandSlot& s) {
    u8 digest[48];
    crypto::sha384(&s, kSignedBytes, digest);
    std::string err;
    if (have_key_)
        (void)sign::sign_digest(key_, digest, *reinterpret_cast<u8(*)[96]>(s.signature), err);
}

bool Client::post_raw(const CommandSlot& slot, ResponseSlot& resp, double timeout_s) {
    volatile u32* prod = field(__builtin_offsetof(Header, cmd_prod));
    volatile u32* rprod = field(__builtin_offsetof(Header, resp_prod));
    volatile u32* rcons = field(__builtin_offsetof(Header, resp_cons));
    const u32 p = *prod;
    memcpy(const_cast<u8*>(base_) + kCmdRingOffset + (p % kCmdSlots) * sizeof slot, &slot,
           sizeof slot);
    __atomic_thread_fence(__ATOMIC_RELEASE); // the slot before the index that publishes it
    *prod = p + 1;
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        u32 rc = *rcons;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        while (*rprod != rc) {
            memcpy(&resp,
                   const_cast<const u8*>(base_) + kRespRingOffset + (rc % kRespSlots) * sizeof resp,
                   sizeof resp);
            ++rc;
            __atomic_thread_fence(__ATOMIC_RELEASE);
            *rcons = rc;
            if (resp.seq == slot.seq) return true;
        }
        usleep(1000);
    }
    return false;
}

bool Client::call(Opcode op, u32 vm_id, const void* payload, u32 len, ResponseSlot& resp,
                  double timeout_s, void (*tamper)(CommandSlot&)) {
    CommandSlot s = make(op, vm_id, payload, len);
    sign(s);
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
