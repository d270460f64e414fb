#include "hypervisor/mm/table_pool.hpp"

#include <string.h>

namespace keel::mm {

u64* TablePool::alloc(PhysAddr* phys) {
    LockGuard g(lock_);
    for (u32 i = 0; i < count_; ++i) {
        if (used_[i]) continue;
        used_[i] = true;
        memset(pages_[i], 0, sizeof pages_[i]);
        *phys = PhysAddr(reinterpret_cast<u64>(pages_[i]));
        return pages_[i];
    }
    return nullptr;
}

bool TablePool::free(PhysAddr phys) {
    LockGuard g(lock_);
    const u64 base = reinterpret_cast<u64>(pages_);
    if (phys.raw() < base || (phys.raw() - base) % sizeof pages_[0] != 0) return false;
    const u64 i = (phys.raw() - base) / sizeof pages_[0];
    if (i >= count_ || !used_[i]) return false;
    used_[i] = false;
    return true;
}

u64* PoolTables::alloc_table(PhysAddr* phys) {
    if (pool_ == nullptr) return nullptr;
    u64* page = pool_->alloc(phys);
    if (page != nullptr) ++in_use_;
    return page;
}

void PoolTables::free_table(PhysAddr phys) {
    if (pool_ != nullptr && pool_->free(phys)) --in_use_;
}

} // namespace keel::mm
