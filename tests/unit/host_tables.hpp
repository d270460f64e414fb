// Host table memory for page-table tests: aligned pages whose "physical address" is their
// host address, with a live set that catches frees of unknown tables and walks into freed
// ones, and an optional limit to test exhaustion.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <set>

#include "hypervisor/mm/page_table.hpp"

namespace keel::test {

class HostTables final : public mm::TableMemory {
public:
    HostTables() = default;
    HostTables(const HostTables&) = delete;
    HostTables& operator=(const HostTables&) = delete;
    ~HostTables() {
        for (void* p : live_)
            std::free(p);
    }
    u64* alloc_table(PhysAddr* phys) override {
        if (limit_ && live_.size() >= limit_) return nullptr;
        void* p = std::aligned_alloc(4096, 4096);
        std::memset(p, 0, 4096);
        live_.insert(p);
        *phys = PhysAddr(reinterpret_cast<u64>(p));
        return static_cast<u64*>(p);
    }
    void free_table(PhysAddr phys) override {
        void* p = reinterpret_cast<void*>(phys.raw());
        ASSERT_EQ(live_.erase(p), 1u) << "freeing a table that is not live";
        std::free(p);
    }
    u64* table_ptr(PhysAddr phys) override {
        void* p = reinterpret_cast<void*>(phys.raw());
        EXPECT_TRUE(live_.count(p)) << "walk into a freed table";
        return static_cast<u64*>(p);
    }
    [[nodiscard]] bool is_live(u64 phys) const {
        return live_.count(reinterpret_cast<void*>(phys)) != 0;
    }
    usize tables_in_use() const override { return live_.size(); }
    usize limit_ = 0;

private:
    std::set<void*> live_;
};

} // namespace keel::test
