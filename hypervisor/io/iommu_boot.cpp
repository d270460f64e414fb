#include "hypervisor/io/iommu_boot.hpp"

#include <arch/mailbox.hpp>
#include <arch/sections.hpp>

#include "hypervisor/print.hpp"

namespace keel {
namespace {

using ull = unsigned long long;

// The SMMU's structures and its page tables: inside the image (identity mapped), never
// the partition pool. 16 table pages: a VM's IOVA space in 2 MiB blocks takes 2-3, and
// every page here is .bss the boot zeroes (docs/performance.md "Boot").
// Not zeroed at boot (KEEL_NOINIT: no cost without an SMMU): Smmu::init writes the stream
// table, both queues and every CD the SMMU can reach before it enables anything.
KEEL_NOINIT iommu::SmmuMemory g_mem;
mm::TableStorage<16> g_table_storage;
constinit mm::TablePool g_tables(g_table_storage);
constinit iommu::Smmu g_smmu(g_mem, g_tables);
constinit iommu::DirectMmio g_regs(0);

// One line per run of events from the same stream with the same type (a blocked transfer
// faults once per access: a 4 KiB write is hundreds of events), with the first address.
class ConsoleEvents final : public iommu::EventSink {
public:
    explicit ConsoleEvents(IommuEventRuns* also) : also_(also) {}
    void event(const iommu::Event& e) override {
        if (repeats_ != 0 && e.type == first_.type && e.sid == first_.sid) {
            ++repeats_;
            return;
        }
        flush();
        first_ = e;
        repeats_ = 1;
    }
    void flush() {
        if (repeats_ == 0) return;
        const bool fault =
            first_.type >= iommu::kEvtTranslation && first_.type <= iommu::kEvtPermission;
        kprint("smmu: event %s (%#x) stream %#x", iommu::event_name(first_.type), first_.type,
               first_.sid);
        if (fault)
            kprint(" iova %#llx %s", static_cast<ull>(first_.address),
                   first_.read ? "read" : "write");
        if (repeats_ > 1) kprint(" (%u like it)", repeats_ - 1);
        kprint("\n");
        if (also_ != nullptr) also_->run(first_, repeats_);
        repeats_ = 0;
    }

private:
    IommuEventRuns* also_;
    iommu::Event first_{};
    u32 repeats_ = 0;
};

} // namespace

Status iommu_bring_up(const Platform& p) {
    // The first SMMU (Platform::smmus: IORT or the device tree); its register frame is
    // the architecture's 128 KiB (pages 0 and 1).
    if (p.smmu_count == 0) return Status::NotFound;
    const u64 base = p.smmus[0].base;
    KEEL_TRY(arch::mailbox_map_device(base, iommu::kRegionSize));
    g_regs = iommu::DirectMmio(base);
    const Status s = g_smmu.init(g_regs);
    if (s != Status::Ok) {
        kprint("smmu: SMMUv3 at %#llx not used: %s\n", static_cast<ull>(base), status_name(s));
        return s;
    }
    kprint("smmu: SMMUv3 at %#llx enabled: IDR0 %#x (stage 1%s), %u streams, every stream "
           "aborts until assigned\n",
           static_cast<ull>(base), g_smmu.idr0(), (g_smmu.idr0() & 1u) ? ", stage 2" : " only",
           1u << iommu::kStreamLog2);
    return Status::Ok;
}

bool iommu_ready() { return g_smmu.ready(); }

Result<u32> iommu_stream(const Platform& p, pci::Bdf f) {
    const u32 rid = pci::routing_id(f);
    const PciIdRange* r = p.pci_route(rid);
    if (r == nullptr || r->smmu != 0) return Status::NotFound; // not behind the SMMU Keel drives
    return r->stream_base + (rid - r->rid_base);
}

Status iommu_attach(const Platform& p, pci::Bdf f, const iommu::DmaMap* maps, u32 count) {
    if (!g_smmu.ready()) return Status::BadState;
    Result<u32> sid = iommu_stream(p, f);
    if (!sid.ok()) return sid.status();
    return g_smmu.attach(sid.value(), maps, count);
}

Status iommu_detach(const Platform& p, pci::Bdf f) {
    Result<u32> sid = iommu_stream(p, f);
    if (!sid.ok()) return sid.status();
    return g_smmu.detach(sid.value());
}

u32 iommu_report_events(IommuEventRuns* also) {
    if (!g_smmu.ready()) return 0;
    ConsoleEvents sink(also);
    bool lost = false;
    const u32 n = g_smmu.drain_events(sink, &lost);
    sink.flush();
    if (lost) kprint("smmu: event queue overflowed: later events were lost\n");
    return n;
}

} // namespace keel
