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

i64 TablePool::index_of(PhysAddr phys) const {
    const u64 base = reinterpret_cast<u64>(pages_);
    if (phys.raw() < base || (phys.raw() - base) % sizeof pages_[0] != 0) return -1;
    const u64 i = (phys.raw() - base) / sizeof pages_[0];
    return i < count_ ? static_cast<i64>(i) : -1;
}

bool TablePool::free(PhysAddr phys) {
    LockGuard g(lock_);
    const i64 i = index_of(phys);
    if (i < 0 || !used_[i]) return false;
    used_[i] = false;
    return true;
}

bool TablePool::adopt(PhysAddr phys) {
    LockGuard g(lock_);
    const i64 i = index_of(phys);
    if (i < 0 || used_[i]) return false;
    used_[i] = true;
    return true;
}

u32 TablePool::in_use() const {
    u32 n = 0;
    for (u32 i = 0; i < count_; ++i)
        n += used_[i] ? 1 : 0;
    return n;
}

Status TablePool::use_storage(u64 (*pages)[kEntriesPerTable], bool* used, u32 count) {
    LockGuard g(lock_);
    for (u32 i = 0; i < count_; ++i)
        if (used_[i]) return Status::BadState;
    for (u32 i = 0; i < count; ++i)
        used[i] = false;
    pages_ = pages;
    used_ = used;
    count_ = count;
    return Status::Ok;
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
