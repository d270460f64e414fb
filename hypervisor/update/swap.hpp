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

// What the incoming image answers when it hands control back to the outgoing one
// (docs/handover.md §4.3; on arm64 x0 at the outgoing image's return entry: reason in bits
// 0..31, the Status in 32..63). Both images must agree: a new reason is a new number.
enum class HandBackReason : u32 {
    None = 0,             // never entered (the arch could not)
    RecordRefused = 1,    // its parse_handover refused the record: `status` says why
    AdoptionNotBuilt = 2, // the record checked, but this image cannot adopt (an older one)
    AdoptionRefused = 3,  // the record checked, but adopting an object of it failed
    HealthCheck = 4,      // adopted, but the image's own health check failed before any
                          // vCPU ran on it (the test-only failing image, docs/handover.md §4.6)
    CoresMissing = 5,     // not every core online came over to the image in time
};
struct HandBack {
    HandBackReason reason = HandBackReason::None;
    Status status = Status::Ok;
};
constexpr u64 encode_hand_back(HandBackReason r, Status s) {
    return static_cast<u64>(r) | static_cast<u64>(static_cast<u32>(s)) << 32;
}
constexpr HandBack decode_hand_back(u64 v) {
    return HandBack{static_cast<HandBackReason>(static_cast<u32>(v)),
                    static_cast<Status>(static_cast<u32>(v >> 32))};
}

class Swap {
public:
    // Boot core, at boot before any VM: takes the update region and the handover record's
    // buffer out of the pool and maps them for the hypervisor (docs/handover.md §1.1).
    [[nodiscard]] virtual Status reserve(u8** region, u64* region_size, u8** record,
                                         u64* record_size) = 0;
    // Boot core, at boot before the IOMMU is brought up: `bytes` (rounded up to the pool's
    // blocks) taken out of the pool for good and mapped for the hypervisor, outside every
    // image: the I/O region (docs/handover.md §1.1). Its address and the size taken;
    // Unsupported where the arch keeps none.
    [[nodiscard]] virtual Status reserve_io(u64 bytes, u64* base, u64* size) {
        (void)bytes, (void)base, (void)size;
        return Status::Unsupported;
    }
    // Asked at each Apply, before anything changes: why it cannot swap now (the mailbox
    // answers it, Unsupported, nothing changed), or null when it can. Begin, Chunk and
    // Verify work either way.
    [[nodiscard]] virtual const char* swap_missing() { return nullptr; }
    // What an Apply does on this arch, for the console line at boot.
    [[nodiscard]] virtual const char* swap_summary() {
        return "quiesce and record, enter the new image, which adopts and stays";
    }
    // Boot core. Ok: every vCPU that was running is parked (`parked` says how many);
    // Timeout: some did not park within `timeout_ms`, and every one was let go again.
    [[nodiscard]] virtual Status quiesce(u64 timeout_ms, u32* parked) = 0;
    // While quiesced: one Vm, Stage2 and Vcpu records per VM that has vCPUs.
    [[nodiscard]] virtual Status describe(HandoverWriter& w) = 0;
    // Every parked vCPU re-enters its guest.
    virtual void resume() = 0;
    // The running image's span (docs/handover.md §2.2 OldImage).
    virtual void image_span(u64* base, u64* span, u64* entry) = 0;
    // The device tree the running Keel booted with (OldImage's dtb), 0 without one.
    virtual u64 device_tree() = 0;
    // While quiesced: OldImage's arch fields from ABI 4 (cores online, the stage-2 table
    // region, the quiesce's start tick). The caller fills the rest.
    virtual void describe_image(OldImageRecord& r) = 0;
    // The run slot an incoming image is placed in (docs/handover.md §1.4), inside the region
    // reserve() took; null and 0 before reserve() or where the arch cannot enter an image.
    virtual void run_slot(u8** slot, u64* size) = 0;
    // Boot core, while quiesced and with the record sealed (`record`, `bytes`): enters the
    // image placed in the run slot at `entry_offset`, handing it the record. An image that
    // adopts everything stays and this never returns (the incoming image answers the Apply);
    // otherwise it returns when the image hands control back, with its answer, and the
    // outgoing image's state is as it was.
    [[nodiscard]] virtual HandBack enter(u64 entry_offset, const u8* record, u64 bytes) = 0;

    // The incoming image that stayed, at its commit (docs/handover.md §4.6): the outgoing
    // image's span and its update region but the run slot this image runs from go back to
    // the pool (the record and the doorbell lie there: after their last use). Blocks that
    // hold the device tree stay. Returns the bytes given back.
    virtual u64 release_outgoing(const OldImageRecord& old) = 0;

    // The trial (docs/handover.md §4.7), in the incoming image that stayed and is not
    // committed: it takes the outgoing image's update region (its doorbell and its record
    // buffer, returned in `record`) and remembers the outgoing image, which stays reserved
    // until the commit. Unsupported when the outgoing image left no pristine copy.
    [[nodiscard]] virtual Status take_outgoing(const OldImageRecord& old, u8** record,
                                               u64* record_size) = 0;
    // Outside the blackout: the outgoing image's bytes put back as they were loaded (its
    // pristine copy; .bss, .noinit and gaps zero), so it can be entered again.
    [[nodiscard]] virtual Status restore_outgoing() = 0;
    // Boot core, while quiesced and with the rollback record sealed: enters the restored
    // outgoing image at its entry, where it ran. Like enter(): never returns when it stays.
    [[nodiscard]] virtual HandBack enter_outgoing(const u8* record, u64 bytes) = 0;

protected:
    ~Swap() = default; // never deleted through the interface
};

} // namespace keel::update
