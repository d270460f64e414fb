#include "hypervisor/io/iommu_boot.hpp"

#include <arch/mailbox.hpp>
#include <arch/sections.hpp>

#include "hypervisor/print.hpp"

namespace keel {
namespace {

using ull = unsigned long long;

// The SMMU's structures and its page tables: inside the image (identity mapped), never
// the partition pool. 16 table pages: a VM's IOVA space in 2 MiB blocks takes 2-3.
// Not zeroed at boot (KEEL_NOINIT: no cost without an SMMU, docs/performance.md "Boot"):
// Smmu::init writes the stream table, both queues and every CD the SMMU can reach before it
// enables anything, and the table pool zeroes each page as it hands it out.
KEEL_NOINIT iommu::SmmuMemory g_mem;
KEEL_NOINIT alignas(mm::kPageSize) u64 g_table_pages[kIoTablePages][mm::kEntriesPerTable];
bool g_table_used[kIoTablePages];
constinit mm::TablePool g_tables(g_table_pages, g_table_used);
constinit iommu::Smmu g_smmu(g_mem, g_tables);
constinit iommu::DirectMmio g_regs(0);
u64 g_base = 0; // the register frame of the IOMMU in use (whichever kind)
// Or a VT-d unit (never both: one platform IOMMU kind per machine), sharing the pages.
// Not zeroed at boot (.noinit, 28 KiB the boot would otherwise clear on every machine):
// Vtd::init clears the root table, queue and remapping table, a context table is
// cleared when it is taken, and the wait status is written before each use.
KEEL_NOINIT iommu::VtdMemory g_vtd_mem;
constinit iommu::Vtd g_vtd(g_vtd_mem, g_tables);
constexpr u64 kVtdRegs = 4096; // the legacy register set (DRHD size 0: one page)

// The IOMMU's register frame at `base` mapped for the hypervisor and made the one driven.
Status use_registers(u64 base, u64 size) {
    KEEL_TRY(arch::mailbox_map_device(base, size));
    g_regs = iommu::DirectMmio(base);
    g_base = base;
    return Status::Ok;
}

// One console line per run of records that `Same` puts together (a blocked transfer
// faults once per access: a 4 KiB write is hundreds of records), the first one formatted by
// `Describe`, then how many more there were. The line goes out in one kprint, so another
// core's console output cannot land in the middle of it.
template <typename Rec, bool (*Same)(const Rec&, const Rec&),
          usize (*Describe)(char*, usize, const Rec&)>
class Runs {
public:
    void add(const Rec& r) {
        if (count_ != 0 && Same(first_, r)) {
            ++count_;
            return;
        }
        flush();
        first_ = r;
        count_ = 1;
    }
    void flush() {
        if (count_ == 0) return;
        char line[160];
        const usize n = Describe(line, sizeof line, first_);
        if (count_ > 1 && n < sizeof line)
            (void)format(line + n, sizeof line - n, " (%u like it)", count_ - 1);
        kprint("%s\n", line);
        if (on_run != nullptr) on_run(ctx, first_, count_);
        count_ = 0;
    }
    // Told each run after it is printed (optional).
    void (*on_run)(void* ctx, const Rec& first, u32 count) = nullptr;
    void* ctx = nullptr;

private:
    Rec first_{};
    u32 count_ = 0;
};

// SMMU events: a run is the same stream with the same type.
bool same_event(const iommu::Event& a, const iommu::Event& b) {
    return a.type == b.type && a.sid == b.sid;
}
usize describe_event(char* buf, usize size, const iommu::Event& e) {
    const usize n = format(buf, size, "smmu: event %s (%#x) stream %#x", iommu::event_name(e.type),
                           e.type, e.sid);
    if (n >= size || e.type < iommu::kEvtTranslation || e.type > iommu::kEvtPermission) return n;
    return n + format(buf + n, size - n, " iova %#llx %s", static_cast<ull>(e.address),
                      e.read ? "read" : "write");
}
class ConsoleEvents final : public iommu::EventSink {
public:
    explicit ConsoleEvents(IommuEventRuns* also) {
        if (also == nullptr) return;
        runs.ctx = also;
        runs.on_run = [](void* c, const iommu::Event& first, u32 n) {
            static_cast<IommuEventRuns*>(c)->run(first.sid, first.address,
                                                 iommu::event_name(first.type), n);
        };
    }
    void event(const iommu::Event& e) override { runs.add(e); }
    Runs<iommu::Event, same_event, describe_event> runs;
};

// VT-d faults: a run is the same function with the same reason.
bool same_fault(const iommu::vtd::Fault& a, const iommu::vtd::Fault& b) {
    return a.sid == b.sid && a.reason == b.reason;
}
usize describe_fault(char* buf, usize size, const iommu::vtd::Fault& f) {
    const pci::Bdf b = pci::bdf_of(f.sid);
    return format(buf, size, "vt-d: fault %s (%#x) source %02x:%02x.%x iova %#llx %s",
                  iommu::vtd::fault_reason_name(f.reason), f.reason, b.bus, b.dev, b.fn,
                  static_cast<ull>(f.address), f.read ? "read" : "write");
}
class ConsoleFaults final : public iommu::FaultSink {
public:
    explicit ConsoleFaults(IommuEventRuns* also) {
        if (also == nullptr) return;
        runs.ctx = also;
        runs.on_run = [](void* c, const iommu::vtd::Fault& first, u32 n) {
            char what[12];
            format(what, sizeof what, "vt-d %#x", first.reason);
            static_cast<IommuEventRuns*>(c)->run(first.sid, first.address, what, n);
        };
    }
    void fault(const iommu::vtd::Fault& f) override { runs.add(f); }
    Runs<iommu::vtd::Fault, same_fault, describe_fault> runs;
};

// The VT-d unit Keel drives covers the function: the DMAR names it (or includes all), or
// it is an SR-IOV VF created after firmware wrote the table, which shares its PF's unit
// (VT-d spec 1.2, 8.3.3): the unit of function 0 of its device.
bool vtd_covers(const Platform& p, pci::Bdf f) {
    const u32 unit = p.vtd_unit(pci::routing_id(f));
    if (unit != Platform::kNoVtd) return unit == 0;
    return p.vtd_unit(pci::routing_id(pci::Bdf{f.bus, f.dev, 0})) == 0;
}

Status vtd_bring_up(const Platform& p) {
    const u64 base = p.vtd[0].base;
    KEEL_TRY(use_registers(base, kVtdRegs));
    // Destinations in xAPIC format: nothing is routed at boot, and the first routes (a VF's
    // MSI to its VM's core) will say which host APIC mode they target.
    const Status s = g_vtd.init(g_regs, arch::dma_clean, false);
    if (s != Status::Ok) {
        kprint("vt-d: unit at %#llx not used: %s\n", static_cast<ull>(base), status_name(s));
        return s;
    }
    kprint("vt-d: unit at %#llx enabled: CAP %#llx ECAP %#llx, %u-level second-level tables%s, "
           "%s invalidation, every function blocked until assigned\n",
           static_cast<ull>(base), static_cast<ull>(g_vtd.cap()), static_cast<ull>(g_vtd.ecap()),
           g_vtd.levels(), iommu::vtd::ecap_coherent(g_vtd.ecap()) ? "" : " (walks not coherent)",
           g_vtd.queued() ? "queued" : "register-based");
    if (g_vtd.remapping())
        kprint("vt-d: interrupt remapping on: %u entries, none present, compatibility-format "
               "interrupts blocked\n",
               1u << iommu::kVtdIrtLog2);
    else
        kprint("vt-d: no interrupt remapping: a device's MSIs reach the local APICs as sent\n");
    return Status::Ok;
}

} // namespace

Status iommu_bring_up(const Platform& p) {
    if (p.smmu_count == 0 && p.vtd_count != 0) return vtd_bring_up(p);
    // The first SMMU (Platform::smmus: IORT or the device tree); its register frame is
    // the architecture's 128 KiB (pages 0 and 1).
    if (p.smmu_count == 0) return Status::NotFound;
    const u64 base = p.smmus[0].base;
    KEEL_TRY(use_registers(base, iommu::kRegionSize));
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

bool iommu_ready() { return g_smmu.ready() || g_vtd.ready(); }

Status iommu_use_memory(iommu::SmmuMemory& smmu, iommu::VtdMemory& vtd,
                        u64 (&pages)[kIoTablePages][mm::kEntriesPerTable]) {
    if (iommu_ready()) return Status::BadState;
    KEEL_TRY(g_tables.use_storage(pages, g_table_used, kIoTablePages));
    KEEL_TRY(g_vtd.use_memory(vtd));
    return g_smmu.use_memory(smmu);
}

Status iommu_adopt(const Platform& p, u64 base) {
    // The kind bring-up would choose on this platform, at the base the record names.
    if (p.smmu_count == 0 && p.vtd_count != 0) {
        if (p.vtd[0].base != base) return Status::NotFound;
        KEEL_TRY(use_registers(base, kVtdRegs));
        return g_vtd.adopt(g_regs, arch::dma_clean);
    }
    if (p.smmu_count == 0 || p.smmus[0].base != base) return Status::NotFound;
    KEEL_TRY(use_registers(base, iommu::kRegionSize));
    return g_smmu.adopt(g_regs);
}

u64 iommu_base() { return iommu_ready() ? g_base : 0; }
u32 iommu_streams() {
    return g_smmu.ready() ? g_smmu.streams() : g_vtd.ready() ? g_vtd.domains() : 0;
}
bool iommu_msi_routed(u16 handle, u8 vector, u32 apic_id, u16 sid) {
    return g_vtd.ready() && g_vtd.routed(handle, vector, apic_id, sid);
}
bool iommu_msi_route_present(u16 handle) { return g_vtd.ready() && g_vtd.route_present(handle); }
const char* iommu_prefix() { return g_vtd.ready() ? "vt-d" : "smmu"; }
const char* iommu_label() { return g_vtd.ready() ? "VT-d unit" : "SMMU"; }
const char* iommu_quarantine_steps() {
    return g_vtd.ready() ? "context entry cleared, context cache + IOTLB invalidated"
                         : "abort, CFGI_STE + TLBI + SYNC";
}

Result<u32> iommu_stream(const Platform& p, pci::Bdf f) {
    const u32 rid = pci::routing_id(f);
    if (g_vtd.ready()) return vtd_covers(p, f) ? Result<u32>(rid) : Result<u32>(Status::NotFound);
    const PciIdRange* r = p.pci_route(rid);
    if (r == nullptr || r->smmu != 0) return Status::NotFound; // not behind the SMMU Keel drives
    return r->stream_base + (rid - r->rid_base);
}

Status iommu_attach(const Platform& p, pci::Bdf f, const iommu::DmaMap* maps, u32 count) {
    if (!iommu_ready()) return Status::BadState;
    Result<u32> sid = iommu_stream(p, f);
    if (!sid.ok()) return sid.status();
    if (g_vtd.ready()) return g_vtd.attach(static_cast<u16>(sid.value()), maps, count);
    return g_smmu.attach(sid.value(), maps, count);
}

Status iommu_detach(const Platform& p, pci::Bdf f) {
    Result<u32> sid = iommu_stream(p, f);
    if (!sid.ok()) return sid.status();
    if (g_vtd.ready()) return g_vtd.detach(static_cast<u16>(sid.value()));
    return g_smmu.detach(sid.value());
}

bool iommu_remaps_msis() { return g_vtd.ready() && g_vtd.remapping(); }
Status iommu_route_msi(u16 handle, u8 vector, u32 apic_id, u16 sid) {
    return g_vtd.ready() ? g_vtd.route_msi(handle, vector, apic_id, sid) : Status::BadState;
}
Status iommu_unroute_msi(u16 handle) {
    return g_vtd.ready() ? g_vtd.unroute_msi(handle) : Status::BadState;
}

u32 iommu_report_events(IommuEventRuns* also) {
    if (g_vtd.ready()) {
        ConsoleFaults faults(also);
        bool lost = false;
        const u32 n = g_vtd.drain_faults(faults, &lost);
        faults.runs.flush();
        if (lost) kprint("vt-d: fault log overflowed: later faults were lost\n");
        return n;
    }
    if (!g_smmu.ready()) return 0;
    ConsoleEvents sink(also);
    bool lost = false;
    const u32 n = g_smmu.drain_events(sink, &lost);
    sink.runs.flush();
    if (lost) kprint("smmu: event queue overflowed: later events were lost\n");
    return n;
}

} // namespace keel
