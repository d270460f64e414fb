// First-fit arena for mbedTLS; see arena.hpp.
#include "crypto/arena.hpp"

#include <mbedtls/platform.h>
#include <string.h>

namespace keel::crypto {

// magic tells a live header from arbitrary bytes, so a stray free() is detected.
struct Arena::Header {
    u32 size;      // bytes in this block, header included; multiple of kAlign
    u32 prev_size; // size of the block before this one, 0 for the first
    u32 used;      // 1 while handed out
    u32 magic;
};

namespace {

constexpr u32 kMagic = 0x4b41524e; // "KARN"
constexpr usize kArenaSize = 32 * KiB;

alignas(Arena::kAlign) u8 g_arena_buf[kArenaSize];
Arena g_arena;
bool g_installed = false;

void* keel_mbedtls_calloc(size_t n, size_t size) { return g_arena.calloc(n, size); }
void keel_mbedtls_free(void* p) { g_arena.free(p); }

} // namespace

void Arena::reset(void* buf, usize size) {
    static_assert(sizeof(Header) == kAlign, "payloads must stay kAlign-aligned");
    auto addr = reinterpret_cast<uptr>(buf);
    usize skip = static_cast<usize>(align_up(addr, kAlign) - addr);
    stats_ = {};
    base_ = nullptr;
    size_ = 0;
    if (buf == nullptr || size < skip + 2 * kAlign) return;
    size = static_cast<usize>(align_down(size - skip, kAlign));
    if (size > 0xffff'fff0u) size = 0xffff'fff0u; // sizes are stored in u32
    base_ = static_cast<u8*>(buf) + skip;
    size_ = size;
    auto* h = reinterpret_cast<Header*>(base_);
    *h = Header{static_cast<u32>(size), 0, 0, kMagic};
    stats_.capacity = size - sizeof(Header);
}

Arena::Header* Arena::next(Header* h) const {
    u8* n = reinterpret_cast<u8*>(h) + h->size;
    return n < base_ + size_ ? reinterpret_cast<Header*>(n) : nullptr;
}

Arena::Header* Arena::prev(Header* h) const {
    if (h->prev_size == 0) return nullptr;
    return reinterpret_cast<Header*>(reinterpret_cast<u8*>(h) - h->prev_size);
}

// Merges the free block after h into h.
void Arena::absorb_next(Header* h) {
    Header* n = next(h);
    if (n == nullptr || n->used) return;
    h->size += n->size;
    n->magic = 0;
    if (Header* nn = next(h)) nn->prev_size = h->size;
}

void* Arena::calloc(usize n, usize size) {
    usize bytes = 0;
    if (base_ == nullptr || __builtin_mul_overflow(n, size, &bytes) || bytes > size_) {
        ++stats_.failures;
        return nullptr;
    }
    usize need = sizeof(Header) + static_cast<usize>(align_up(bytes == 0 ? 1 : bytes, kAlign));
    for (Header* h = reinterpret_cast<Header*>(base_); h != nullptr; h = next(h)) {
        if (h->used || h->size < need) continue;
        if (h->size - need >= 2 * kAlign) { // split: the tail stays free
            auto* tail = reinterpret_cast<Header*>(reinterpret_cast<u8*>(h) + need);
            *tail = Header{static_cast<u32>(h->size - need), static_cast<u32>(need), 0, kMagic};
            if (Header* after = next(tail)) after->prev_size = tail->size;
            h->size = static_cast<u32>(need);
        }
        h->used = 1;
        stats_.in_use += h->size;
        if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
        void* p = h + 1;
        memset(p, 0, h->size - sizeof(Header));
        return p;
    }
    ++stats_.failures;
    return nullptr;
}

Arena::Header* Arena::header_of(void* p) const {
    auto* b = static_cast<u8*>(p);
    if (base_ == nullptr || b < base_ + sizeof(Header) || b >= base_ + size_) return nullptr;
    if ((reinterpret_cast<uptr>(b) & (kAlign - 1)) != 0) return nullptr;
    auto* h = reinterpret_cast<Header*>(b) - 1;
    if (h->magic != kMagic || !h->used) return nullptr;
    return h;
}

void Arena::free(void* p) {
    if (p == nullptr) return;
    Header* h = header_of(p);
    if (h == nullptr) {
        ++stats_.bad_frees;
        return;
    }
    h->used = 0;
    stats_.in_use -= h->size;
    absorb_next(h);
    if (Header* before = prev(h); before != nullptr && !before->used) absorb_next(before);
}

Status init() {
    if (g_installed) return Status::Ok;
    g_arena.reset(g_arena_buf, sizeof(g_arena_buf));
    if (mbedtls_platform_set_calloc_free(keel_mbedtls_calloc, keel_mbedtls_free) != 0)
        return Status::BadState;
    g_installed = true;
    return Status::Ok;
}

Arena& arena() { return g_arena; }

} // namespace keel::crypto
