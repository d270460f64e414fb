// What the arch does for a live update's swap (docs/handover.md §4): park every running
// vCPU at EL2 with its state saved into its VM's context (pending virtual interrupts and
// timer deadlines kept, second-stage tables live and untouched), describe the VMs in
// handover records, and let the vCPUs run again. Reached through arch::live_update()
// (<arch/update.hpp>); null where the arch has none yet. Virtual calls are a seam for the
// mailbox service (and host tests), not dispatch on untrusted input.
#pragma once

#include "hypervisor/status.hpp"
#include "hypervisor/update/handover.hpp"

namespace keel::update {

class Swap {
public:
    // Boot core, at boot before any VM: takes the update region and the handover record's
    // buffer out of the pool and maps them for the hypervisor (docs/handover.md §1.1).
    [[nodiscard]] virtual Status reserve(u8** region, u64* region_size, u8** record,
                                         u64* record_size) = 0;
    // Boot core. Ok: every vCPU that was running is parked (`parked` says how many);
    // Timeout: some did not park within `timeout_ms`, and every one was let go again.
    [[nodiscard]] virtual Status quiesce(u64 timeout_ms, u32* parked) = 0;
    // While quiesced: one Vm, Stage2 and Vcpu records per VM that has vCPUs.
    [[nodiscard]] virtual Status describe(HandoverWriter& w) = 0;
    // Every parked vCPU re-enters its guest.
    virtual void resume() = 0;
    // The running image's span (docs/handover.md §2.2 OldImage).
    virtual void image_span(u64* base, u64* span, u64* entry) = 0;

protected:
    ~Swap() = default; // never deleted through the interface
};

} // namespace keel::update
