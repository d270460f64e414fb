// The arch clock as the drivers' time sources: microseconds for NVMe timeouts, and a
// busy wait for PCIe's fixed delays (FLR). Boot core only; spinning is acceptable there.
#pragma once

#include <arch/ticks.hpp>

#include "drivers/pci/flr.hpp"
#include "drivers/sriov/nvme_admin.hpp"

namespace keel {

inline u64 ticks_us() {
    const arch::TickCount t = arch::ticks();
    return t.hz ? (t.count / t.hz) * 1000000 + (t.count % t.hz) * 1000000 / t.hz : 0;
}

class TickClock final : public nvme::Clock {
public:
    u64 now_us() override { return ticks_us(); }
};

class TickWaiter final : public pci::Waiter {
public:
    void wait_us(u64 us) override {
        const u64 start = ticks_us();
        while (ticks_us() - start < us) {
        }
    }
};

} // namespace keel
