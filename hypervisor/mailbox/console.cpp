#include "hypervisor/mailbox/console.hpp"

namespace keel::mailbox {
namespace {
static_assert((kConsoleOutBytes & (kConsoleOutBytes - 1)) == 0 && kConsoleOutBytes % 4 == 0,
              "the mirror and the shared ring share one layout: index % size, whole words");
constexpr u64 kProdField = __builtin_offsetof(Header, console_out_prod);
} // namespace

void ConsoleRings::out(u32 vm_id, const char* bytes, usize len) {
    if (vm_id == 0 || vm_id > kMaxVms || bytes == nullptr) return;
    Out& o = out_[vm_id - 1];
    u32 p = o.prod; // only this VM's (serialised) TX path writes prod
    for (usize i = 0; i < len; ++i, ++p)
        // Relaxed atomic stores: the boot core may be copying neighbouring bytes.
        __atomic_store_n(&o.buf[p % kConsoleOutBytes], static_cast<u8>(bytes[i]), __ATOMIC_RELAXED);
    __atomic_store_n(&o.prod, p, __ATOMIC_RELEASE); // bytes before the index that covers them
}

void ConsoleRings::flush(SharedRegion& region) {
    for (u32 i = 0; i < kMaxVms; ++i) {
        Out& o = out_[i];
        const u32 prod = __atomic_load_n(&o.prod, __ATOMIC_ACQUIRE);
        if (prod == o.published) continue;
        u32 from = o.published;
        if (prod - from > kConsoleOutBytes) from = prod - kConsoleOutBytes; // drop oldest
        // Whole aligned words (Device memory): a word may carry bytes past prod, which
        // the controller ignores because it reads only up to the published index.
        for (u32 w = from & ~3u; w != ((prod + 3) & ~3u); w += 4) {
            const u32 at = w % kConsoleOutBytes;
            u8 word[4];
            for (u32 k = 0; k < 4; ++k)
                word[k] = __atomic_load_n(&o.buf[at + k], __ATOMIC_RELAXED);
            (void)region.copy_out(console_out_offset(i) + at, word, 4);
        }
        barrier_release(); // ring bytes before the index that publishes them (§3.6)
        region.write32(kProdField + 4 * i, prod);
        o.published = prod;
    }
}

void ConsoleRings::describe(u32 vm_id, update::ConsoleRecord& out) const {
    static_assert(sizeof out.out_mirror == kConsoleOutBytes &&
                  sizeof out.in_queue == kConsoleInBytes);
    out = update::ConsoleRecord{};
    if (vm_id == 0 || vm_id > kMaxVms) return;
    const Out& o = out_[vm_id - 1];
    const In& q = in_[vm_id - 1];
    out.vm_id = vm_id;
    out.out_count = __atomic_load_n(&o.prod, __ATOMIC_ACQUIRE);
    out.out_published = o.published;
    memcpy(out.out_mirror, o.buf, sizeof out.out_mirror);
    out.in_len = q.count;
    for (u32 i = 0; i < q.count; ++i)
        out.in_queue[i] = q.buf[(q.head + i) % kConsoleInBytes];
}

Status ConsoleRings::adopt(const update::ConsoleRecord& in) {
    if (in.vm_id == 0 || in.vm_id > kMaxVms || in.in_len > kConsoleInBytes ||
        in.out_published > in.out_count)
        return Status::InvalidArgument;
    Out& o = out_[in.vm_id - 1];
    In& q = in_[in.vm_id - 1];
    memcpy(o.buf, in.out_mirror, sizeof o.buf);
    o.published = static_cast<u32>(in.out_published); // both count modulo 2^32 (u32 rings)
    __atomic_store_n(&o.prod, static_cast<u32>(in.out_count), __ATOMIC_RELEASE);
    memcpy(q.buf, in.in_queue, in.in_len);
    q.head = 0;
    q.count = in.in_len;
    return Status::Ok;
}

Status ConsoleRings::queue_in(u32 vm_id, const u8* bytes, u32 len) {
    if (vm_id == 0 || vm_id > kMaxVms) return Status::OutOfRange;
    In& q = in_[vm_id - 1];
    if (len > kConsoleInBytes - q.count) return Status::Busy; // all or nothing
    for (u32 i = 0; i < len; ++i)
        q.buf[(q.head + q.count + i) % kConsoleInBytes] = bytes[i];
    q.count += len;
    return Status::Ok;
}

Status ConsoleRings::feed_in(u32 vm_id, ConsoleSink sink, void* ctx) {
    In& q = in_[vm_id - 1];
    while (q.count != 0) {
        const Status s = sink(ctx, vm_id, q.buf[q.head]);
        if (s == Status::Busy) return s; // the guest has not drained its FIFO: next poll
        if (s != Status::Ok) {
            clear_in(vm_id); // no receive side: nothing will ever take these bytes
            return s;
        }
        q.head = (q.head + 1) % kConsoleInBytes;
        --q.count;
    }
    return Status::Ok;
}

void ConsoleRings::clear_in(u32 vm_id) {
    In& q = in_[vm_id - 1];
    q.head = q.count = 0;
}

} // namespace keel::mailbox
