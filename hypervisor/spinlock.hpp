// A test-and-set spinlock on C++ atomics (LDAXR/STXR on arm64, XCHG on x86): portable,
// so the core needs no arch header for it. Held only for short, bounded sections
// (a console line, a pool operation). Lock order, outermost first (vm/vm_manager.hpp):
//   VM manager lock -> pool lock -> a VM's stage-2 lock (arm64) -> table-pool lock
//   -> console lock; arm64's EL2 table lock (mmu.cpp) is innermost: nothing inside it
// Locks need coherent (cacheable) memory: take them only once the MMU is on.
#pragma once

#include "hypervisor/types.hpp"

namespace keel {

class SpinLock {
public:
    constexpr SpinLock() = default;
    void lock() {
        while (__atomic_exchange_n(&held_, 1u, __ATOMIC_ACQUIRE) != 0)
            while (__atomic_load_n(&held_, __ATOMIC_RELAXED) != 0) {
            }
    }
    void unlock() { __atomic_store_n(&held_, 0u, __ATOMIC_RELEASE); }

private:
    u32 held_ = 0;
};

class LockGuard {
public:
    explicit LockGuard(SpinLock& l) : l_(l) { l_.lock(); }
    ~LockGuard() { l_.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    SpinLock& l_;
};

} // namespace keel
