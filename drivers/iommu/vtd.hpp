// Intel VT-d remapping unit driver, legacy mode (VT-d spec chapters 3, 9, 10, 11): a root
// table (one entry per bus) and context tables (one entry per device/function) in
// memory Keel owns, register-based invalidation, and per assigned PCI function (its
// requester ID) a domain of its own whose second-level tables come from the page-table
// engine (VtdSl3/VtdSl4 by the unit's address widths). A function Keel has not assigned
// has no present context entry: its DMA is blocked and recorded as a fault. Faults are
// read from the fault recording registers and reported through a sink.
//
// Like the SMMUv3 driver (smmuv3.hpp) it runs against Mmio, so host tests drive it over a
// register model; the structures live in VtdMemory, memory the hypervisor maps
// identically. Boot core only, or one caller at a time: no lock.
//
// Invalidation goes through the invalidation queue where the unit has one (it must then:
// register-based invalidation is not allowed while the queue is on), else through the
// command registers. Where the unit has interrupt remapping, Keel turns it on with every
// entry not present and compatibility-format interrupts blocked: no device raises any
// interrupt until Keel routes one (route_msi), and that only from its own requester ID.
#pragma once

#include "drivers/iommu/smmuv3.hpp" // Mmio, DmaMap
#include "drivers/iommu/vtd_defs.hpp"
#include "drivers/iommu/vtd_format.hpp"
#include "hypervisor/mm/table_pool.hpp"

namespace keel::iommu {

constexpr u32 kVtdContextTables = 4; // buses with an assigned function at once
constexpr u32 kVtdDomains = 16;      // functions with a translation at once
constexpr u32 kVtdIrtLog2 = 8;       // interrupt remapping table entries (2^8)
constexpr u32 kVtdQueue = 256;       // invalidation queue: one page of 16-byte descriptors

struct VtdMemory {
    alignas(4096) vtd::Entry128 root[256];
    alignas(4096) vtd::Entry128 context[kVtdContextTables][256];
    alignas(4096) vtd::Entry128 queue[kVtdQueue];
    alignas(4096) vtd::Entry128 irt[1u << kVtdIrtLog2];
    alignas(64) u32 wait_status;
};

class FaultSink {
public:
    virtual void fault(const vtd::Fault& f) = 0;

protected:
    ~FaultSink() = default;
};

// Makes CPU writes to [p, p + n) visible to a unit whose page walks do not snoop the
// caches (ECAP.C = 0; x86: CLFLUSH every line, then a fence).
using CacheClean = void (*)(const void* p, usize n);

class Vtd {
public:
    constexpr Vtd(VtdMemory& mem, mm::TablePool& pool) : mem_(&mem), pool_(pool) {}
    Vtd(const Vtd&) = delete;
    Vtd& operator=(const Vtd&) = delete;

    // Probes (Unsupported: no 39- or 48-bit second level, no 2 MiB pages, fewer domains
    // than Keel numbers), turns off what firmware left on (interrupt remapping, the
    // invalidation queue once drained; translation only under a non-legacy root table:
    // a legacy one is replaced while translation runs), installs an empty root table, starts
    // the invalidation queue where there is one, invalidates the context cache and IOTLB
    // globally, clears old faults, turns on interrupt remapping with an empty table where
    // the unit has it, then enables translation: from then on every function's DMA and
    // interrupts are blocked until attach() / route_msi(). Timeout when the unit never
    // acknowledges, HardwareFault when it refuses a queued descriptor. `clean` is used for
    // every table write when the unit's walks do not snoop; `x2apic`: the host's local
    // APICs are in x2APIC mode (routed destinations are then 32-bit, which needs EIM).
    Status init(Mmio& regs, CacheClean clean, bool x2apic = false);
    // Before init or adopt: the structures on other memory (a live update's I/O region,
    // hypervisor/io/io_region.hpp). BadState once the unit is driven.
    Status use_memory(VtdMemory& mem);
    // Instead of init, in a live update's incoming image (docs/handover.md §4 step 4): the
    // unit taken over as the outgoing image left it on this memory, nothing written to it.
    // The unit must translate through this memory's root table, its invalidation queue (where
    // it has one) be this memory's and drained, and its interrupt remapping (where the unit
    // has it) run on this memory's table with compatibility format blocked; each present root
    // entry must name one of this memory's context tables, each present context entry a
    // domain 1..kVtdDomains of its own whose second-level tree lies in the pool (every page
    // claimed). Unsupported: a unit init would refuse; Corrupt: anything else found.
    Status adopt(Mmio& regs, CacheClean clean);
    // How many functions have a translation (the handover record's Io iommu_streams).
    [[nodiscard]] u32 domains() const;
    // Whether remapping entry `handle` is exactly what route_msi(handle, vector, apic_id,
    // sid) writes (a live update's incoming image checking the routes it is told of).
    [[nodiscard]] bool routed(u16 handle, u8 vector, u32 apic_id, u16 sid) const;
    // Whether entry `handle` is present.
    [[nodiscard]] bool route_present(u16 handle) const;
    [[nodiscard]] bool ready() const { return regs_ != nullptr; }
    [[nodiscard]] u64 cap() const { return cap_; }
    [[nodiscard]] u64 ecap() const { return ecap_; }
    [[nodiscard]] u32 levels() const { return levels_; }
    [[nodiscard]] bool queued() const { return queued_; }
    [[nodiscard]] bool remapping() const { return remapping_; }

    // Gives function `rid` (bus << 8 | device << 3 | function) a domain translating
    // exactly these ranges. AlreadyExists if assigned; NoMemory when out of domains,
    // context tables or page tables; OutOfRange for an IOVA past the address width
    // (nothing changes on any error). The context entry is written last, then the
    // context cache and IOTLB are invalidated.
    Status attach(u16 rid, const DmaMap* maps, u32 count);
    // The context entry cleared (DMA blocked), caches invalidated, then the tables freed.
    // NotFound if not attached.
    Status detach(u16 rid);
    // Reports and clears every recorded fault; returns how many. *overflowed: the unit
    // dropped faults since the last drain (FSTS.PFO; cleared here).
    u32 drain_faults(FaultSink& sink, bool* overflowed = nullptr);

    // Interrupt remapping: entry `handle` delivers `vector` to the local APIC `apic_id`
    // (fixed, edge, physical), only for a message from requester ID `sid`; the device
    // must send vtd::remappable_msi_address(handle). BadState without remapping,
    // OutOfRange past the table, Unsupported for an x2APIC ID the unit cannot name.
    Status route_msi(u16 handle, u8 vector, u32 apic_id, u16 sid);
    // The entry not present again (its cached copy invalidated). NotFound if it was not.
    Status unroute_msi(u16 handle);

private:
    struct Domain {
        bool used = false;
        u16 rid = 0;
        mm::PoolTables tables;
        mm::PageTable<VtdSl3> pt3{tables};
        mm::PageTable<VtdSl4> pt4{tables};
    };
    bool probe(Mmio& regs);           // CAP/ECAP: usable, cap_, ecap_ and levels_ read
    Status command(u32 bit, bool on); // GCMD, waits for GSTS to follow
    Status invalidate();              // context cache, then IOTLB (and IEC), all global
    Status queue(const vtd::Entry128* descs, u32 count); // then a wait descriptor
    Status start_queue();
    Status start_remapping(bool x2apic);
    Status stop_firmware_state(u32 gsts);
    Status map_domain(Domain& d, const DmaMap* maps, u32 count);
    Status adopt_context(vtd::Entry128* table, u8 bus);
    vtd::Entry128* context_table(u8 bus, bool create);
    Domain* find(u16 rid);

    VtdMemory* mem_;
    mm::TablePool& pool_;
    void publish(const void* p, usize n) const; // cache clean when not coherent, then a fence
    Mmio* regs_ = nullptr;
    CacheClean clean_ = nullptr;
    u64 cap_ = 0;
    u64 ecap_ = 0;
    u32 levels_ = 0;
    bool queued_ = false;
    bool remapping_ = false;
    bool x2apic_dest_ = false;
    u32 tail_ = 0; // next free descriptor slot
    u32 wait_seq_ = 0;
    u8 bus_of_table_[kVtdContextTables] = {};
    bool table_used_[kVtdContextTables] = {};
    Domain domains_[kVtdDomains];
};

} // namespace keel::iommu
