// x86_64 live update (arch/update_interface.hpp, docs/handover.md §1, §5): the update region
// is reserved at boot as on arm64, so UPDATE Begin, Chunk and Verify stage an incoming
// keel.img and run the boot stage's checks and the handover-ABI check on it. The swap itself
// (parking the vCPUs, the x86 records, entering the incoming image) is not built yet:
// swap_missing() says so and the mailbox answers Apply Unsupported, nothing changed, before
// it would call any of the swap's steps, which refuse the same way if reached.
#include <arch/update.hpp>

#include "hypervisor/vm/partitions.hpp"
#include "paging.hpp"

extern "C" char __image_start[], __image_end[], _start[];

namespace keel::x86 {
namespace {

// The update region (docs/handover.md §1.1): the run slot an incoming image will be placed
// in (its first 2 MiB), then the staged file, and the handover record's buffer at its end.
constexpr u64 kReserveBytes = 4 * MiB;
constexpr u64 kSlotBytes = 2 * MiB;
constexpr u64 kRecordBytes = 128 * KiB;
constexpr u64 kStagedEnd = kReserveBytes - kRecordBytes - 4 * KiB; // as arm64: a page spare

class X86Swap final : public update::Swap {
public:
    Status reserve(u8** region, u64* region_size, u8** record, u64* record_size) override {
        if (reserved_ == 0) {
            Result<PhysAddr> r = pool_reserve_hypervisor(kReserveBytes, "the live-update region");
            if (!r.ok()) return r.status();
            // Out of the pool for good: hypervisor memory now, identity-mapped like its data.
            KEEL_TRY(map_phys(r.value().raw(), kReserveBytes, MapKind::ReadWrite));
            reserved_ = r.value().raw();
        }
        *region = reinterpret_cast<u8*>(reserved_ + kSlotBytes);
        *region_size = kStagedEnd - kSlotBytes;
        *record = reinterpret_cast<u8*>(reserved_ + kReserveBytes - kRecordBytes);
        *record_size = kRecordBytes;
        return Status::Ok;
    }

    const char* swap_missing() override { return "x86_64 cannot enter an incoming image yet"; }

    // Not reached while swap_missing() answers (update.cpp checks it first).
    Status quiesce(u64, u32* parked) override {
        *parked = 0;
        return Status::Unsupported;
    }
    Status describe(update::HandoverWriter&) override { return Status::Unsupported; }
    void resume() override {}
    void image_span(u64* base, u64* span, u64* entry) override {
        *base = reinterpret_cast<uptr>(__image_start);
        *span = static_cast<u64>(__image_end - __image_start);
        *entry = reinterpret_cast<uptr>(_start);
    }
    u64 device_tree() override { return 0; }
    void describe_image(update::OldImageRecord&) override {}
    void run_slot(u8** slot, u64* size) override {
        *slot = nullptr; // no image is entered here yet
        *size = 0;
    }
    update::HandBack enter(u64, const u8*, u64) override { return {}; }
    u64 release_outgoing(const update::OldImageRecord&) override { return 0; }
    Status take_outgoing(const update::OldImageRecord&, u8**, u64*) override {
        return Status::Unsupported;
    }
    Status restore_outgoing() override { return Status::Unsupported; }
    update::HandBack enter_outgoing(const u8*, u64) override { return {}; }

private:
    u64 reserved_ = 0; // the region's physical (= virtual: identity) address
};

constinit X86Swap g_swap;

} // namespace
} // namespace keel::x86

namespace keel::arch {

update::Swap* live_update() { return &x86::g_swap; }

} // namespace keel::arch
