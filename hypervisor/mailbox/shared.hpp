// The only way Keel touches the mailbox region. The controller may change any byte at
// any time, so nothing here hands out a pointer into it: callers copy bytes in (then
// validate the copy) or copy bytes out. Every access is bounds-checked against the
// region and done with aligned, volatile 32-bit loads/stores, because on arm64 the BAR
// is mapped Device-nGnRE, where an unaligned access faults (ARM DDI 0487 B2.5.2) and the
// compiler must not merge, split or repeat accesses.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/types.hpp"

namespace keel::mailbox {

class SharedRegion {
public:
    constexpr SharedRegion() = default;
    SharedRegion(volatile void* base, u64 size)
        : base_(static_cast<volatile u8*>(base)), size_(size) {}

    [[nodiscard]] u64 size() const { return size_; }
    // Where it is mapped (the hypervisor maps it identity: its physical address; the
    // handover record's Mailbox region_base, docs/handover.md §2.2).
    [[nodiscard]] uptr address() const { return reinterpret_cast<uptr>(base_); }
    [[nodiscard]] bool contains(u64 offset, u64 len) const {
        return offset <= size_ && len <= size_ - offset;
    }
    // Both require 4-byte aligned offsets and lengths (every mailbox field is).
    [[nodiscard]] Status copy_in(u64 offset, void* dst, u64 len) const;
    [[nodiscard]] Status copy_out(u64 offset, const void* src, u64 len);
    [[nodiscard]] u32 read32(u64 offset) const; // 0 when out of bounds
    void write32(u64 offset, u32 value);        // ignored when out of bounds

private:
    volatile u8* base_ = nullptr;
    u64 size_ = 0;
};

// Ordering around the rings (docs/mailbox.md §3.6). On the host these are compiler
// and hardware fences of the same strength; arm64 gets DMB ISH / DSB SY through them.
inline void barrier_acquire() { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
inline void barrier_release() { __atomic_thread_fence(__ATOMIC_RELEASE); }
inline void barrier_full() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

} // namespace keel::mailbox
