// SMMUv3 driver (ARM IHI 0070): a linear stream table, a command queue completed with
// CMD_SYNC, an event queue drained onto the console, and per assigned stream one stage-1
// context whose tables come from the page-table engine (SmmuS1Format). Every stream Keel
// has not assigned has an invalid STE: its transactions abort and record C_BAD_STE; a
// stream ID past the table aborts and records C_BAD_STREAMID (CR2.RECINVSID).
//
// QEMU 7.2's SMMU implements stage 1 only, so a VM's VF gets a stage-1 table mapping
// IOVA = guest IPA onto the VM's memory (docs/sriov.md says why not stage 2 here).
// Register access goes through Mmio so host tests run the driver against a model; the
// structures live in SmmuMemory, memory the hypervisor owns and maps identically (the
// address the SMMU is given is the pointer's value). Boot core only, or one caller at a
// time: no lock.
#pragma once

#include "drivers/iommu/smmu_format.hpp"
#include "drivers/iommu/smmuv3_defs.hpp"
#include "hypervisor/mm/table_pool.hpp"

namespace keel::iommu {

class Mmio {
public:
    virtual u32 read32(u32 off) = 0;
    virtual void write32(u32 off, u32 v) = 0;
    void write64(u32 off, u64 v) {
        write32(off, static_cast<u32>(v));
        write32(off + 4, static_cast<u32>(v >> 32));
    }
    u64 read64(u32 off) { return read32(off) | static_cast<u64>(read32(off + 4)) << 32; }

protected:
    ~Mmio() = default;
};

class DirectMmio final : public Mmio {
public:
    constexpr explicit DirectMmio(u64 base) : base_(base) {}
    u32 read32(u32 off) override { return *reinterpret_cast<volatile u32*>(base_ + off); }
    void write32(u32 off, u32 v) override { *reinterpret_cast<volatile u32*>(base_ + off) = v; }

private:
    u64 base_;
};

constexpr u32 kStreamLog2 = 8;  // 256 streams: PCIe bus 0 under an identity iommu-map
constexpr u32 kCmdqLog2 = 5;    // 32 commands
constexpr u32 kEvtqLog2 = 8;    // 256 events: a blocked 4 KiB transfer alone can raise dozens
constexpr u32 kMaxDomains = 16; // streams with a translation at once

struct SmmuMemory {
    alignas((1u << kStreamLog2) * sizeof(Ste)) Ste strtab[1u << kStreamLog2];
    alignas((1u << kCmdqLog2) * sizeof(Cmd)) Cmd cmdq[1u << kCmdqLog2];
    alignas((1u << kEvtqLog2) * sizeof(EventRecord)) EventRecord evtq[1u << kEvtqLog2];
    alignas(64) Cd cds[kMaxDomains];
};

// One IOVA range of a stream's address space onto host-physical memory.
struct DmaMap {
    IoVirt iova;
    PhysAddr pa;
    u64 size;
    bool write;
};

class EventSink {
public:
    virtual void event(const Event& e) = 0;

protected:
    ~EventSink() = default;
};

class Smmu {
public:
    constexpr Smmu(SmmuMemory& mem, mm::TablePool& pool) : mem_(&mem), pool_(pool) {}
    Smmu(const Smmu&) = delete;
    Smmu& operator=(const Smmu&) = delete;

    // Probes (Unsupported without stage 1, AArch64 tables, 4 KiB granule), disables,
    // programs the stream table (every STE invalid) and both queues, enables the queues,
    // invalidates every cached configuration and TLB entry, then enables translation.
    // Timeout when an enable is never acknowledged or a CMD_SYNC never completes.
    Status init(Mmio& regs);
    [[nodiscard]] bool ready() const { return regs_ != nullptr; }
    // Other memory for the structures (a live update's I/O region, docs/handover.md §1.1),
    // before init or adopt; BadState once the SMMU is in use.
    Status use_memory(SmmuMemory& mem);
    [[nodiscard]] const SmmuMemory& memory() const { return *mem_; }

    // A live update's incoming image (docs/handover.md §4 step 4): takes over an SMMU an
    // earlier image set up on this memory, changing nothing: its registers must name this
    // memory's stream table and queues, with translation and both queues on and the command
    // queue idle; each valid STE's CD must be one of this memory's with its table tree in the
    // pool, whose pages are claimed (TablePool::adopt). Unsupported as init; Corrupt on any
    // mismatch (nothing kept).
    Status adopt(Mmio& regs);
    // Streams with a translation now.
    [[nodiscard]] u32 streams() const;
    [[nodiscard]] u32 idr0() const { return idr0_; }

    // Gives `sid` a stage-1 translation of exactly these ranges (nothing else reaches
    // memory). OutOfRange past the stream table, AlreadyExists if assigned, NoMemory when
    // out of domains or tables (nothing changes on any error). The STE is written last,
    // then CMD_CFGI_STE + CMD_SYNC: the stream never sees a half-built table.
    Status attach(u32 sid, const DmaMap* maps, u32 count);
    // Back to an invalid STE (abort), its ASID's TLB entries invalidated and synced before
    // the tables are freed. NotFound if not attached.
    Status detach(u32 sid);
    // Reports and consumes every pending event; returns how many. *overflowed: the SMMU
    // dropped events since the last drain (EVTQ_PROD.OVFLG toggled; acknowledged here).
    u32 drain_events(EventSink& sink, bool* overflowed = nullptr);

private:
    struct Domain {
        bool used = false;
        u32 sid = 0;
        mm::PoolTables tables;
        mm::PageTable<SmmuS1Format> pt{tables};
    };
    bool probe(Mmio& regs);                    // IDR0/IDR1/IDR5: usable, idr0_ and ips_ read
    Status submit(const Cmd* cmds, u32 count); // then CMD_SYNC, waits for completion
    Status enable(u32 bits);
    Domain* find(u32 sid);

    SmmuMemory* mem_;
    mm::TablePool& pool_;
    Mmio* regs_ = nullptr;
    u32 idr0_ = 0;
    u8 ips_ = 0;
    u32 cmd_prod_ = 0;
    Domain domains_[kMaxDomains];
};

} // namespace keel::iommu
