#include "drivers/iommu/smmuv3.hpp"

namespace keel::iommu {
namespace {

// Polls for register/queue progress; the SMMU acts within microseconds, so a bound on
// reads (not time) keeps this free of any clock.
constexpr u32 kPollLimit = 1u << 22;

void fence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
u64 addr_of(const void* p) { return reinterpret_cast<u64>(p); }

} // namespace

Status Smmu::enable(u32 bits) {
    regs_->write32(kCr0, bits);
    for (u32 i = 0; i < kPollLimit; ++i)
        if (regs_->read32(kCr0Ack) == bits) return Status::Ok;
    return Status::Timeout;
}

Status Smmu::use_memory(SmmuMemory& mem) {
    if (regs_ != nullptr) return Status::BadState;
    mem_ = &mem;
    return Status::Ok;
}

u32 Smmu::streams() const {
    u32 n = 0;
    for (const Domain& d : domains_)
        n += d.used;
    return n;
}

bool Smmu::probe(Mmio& regs) {
    idr0_ = regs.read32(kIdr0);
    const u32 idr1 = regs.read32(kIdr1), idr5 = regs.read32(kIdr5);
    ips_ = static_cast<u8>(idr5 & 7);
    // No stage 1, AArch32 tables only, no 4 KiB granule, or tiny SIDs: not usable.
    return !(idr0_ == 0xffffffffu || (idr0_ & 2u) == 0 || ((idr0_ >> 2) & 3u) == 1u ||
             (idr5 & (1u << 4)) == 0 || (idr1 & 0x3fu) < kStreamLog2);
}

Status Smmu::adopt(Mmio& regs) {
    if (regs_ != nullptr) return Status::BadState;
    if (!probe(regs)) return Status::Unsupported;
    constexpr u64 kAddr = 0x000fffffffffffc0ull; // [51:6]
    constexpr u32 kOn = kCr0CmdqEn | kCr0EvtqEn | kCr0SmmuEn;
    const u32 prod = regs.read32(kCmdqProd);
    if (regs.read32(kCr0) != kOn || regs.read32(kCr0Ack) != kOn ||
        (regs.read64(kStrtabBase) & kAddr) != addr_of(mem_->strtab) ||
        (regs.read32(kStrtabBaseCfg) & 0x3003fu) != kStreamLog2 ||
        (regs.read64(kCmdqBase) & ~kQueueRa) != (addr_of(mem_->cmdq) | kCmdqLog2) ||
        (regs.read64(kEvtqBase) & ~kQueueRa) != (addr_of(mem_->evtq) | kEvtqLog2) ||
        !queue_empty(prod, regs.read32(kCmdqCons), kCmdqLog2))
        return Status::Corrupt;
    // Each valid STE: stage 1 through one of this memory's CDs (each CD one stream's), whose
    // ASID is its slot + 1 and whose TTB0 tree lies in the pool, every page claimed once. A
    // refusal leaves pages claimed: the image that refuses hands back and never runs on.
    for (u32 sid = 0; sid < (1u << kStreamLog2); ++sid) {
        const Ste& s = mem_->strtab[sid];
        if ((s.dw[0] & 1) == 0) continue;
        const u64 cd = s.dw[0] & kAddr;
        const u64 slot = (cd - addr_of(mem_->cds)) / sizeof(Cd);
        if (s.dw[0] != make_ste_stage1(cd).dw[0] || cd < addr_of(mem_->cds) ||
            slot >= kMaxDomains || cd != addr_of(&mem_->cds[slot]) || domains_[slot].used)
            return Status::Corrupt;
        const Cd& c = mem_->cds[slot];
        const u64 root = c.dw[1] & 0x000ffffffffff000ull;
        if (c.dw[0] != make_cd(root, static_cast<u16>(slot + 1), ips_, SmmuS1Format::kMair).dw[0])
            return Status::Corrupt;
        Domain& d = domains_[slot];
        KEEL_TRY(mm::adopt_tree(pool_, PhysAddr(root), d.tables, d.pt));
        d.used = true;
        d.sid = sid;
    }
    cmd_prod_ = prod;
    regs_ = &regs;
    return Status::Ok;
}

Status Smmu::init(Mmio& regs) {
    regs_ = &regs;
    if (!probe(regs)) {
        regs_ = nullptr;
        return Status::Unsupported;
    }
    // While translation is off (now, and whenever SMMUEN is clear) transactions follow
    // GBPA: abort them rather than let them through untranslated (§6.3.14, Update procedure).
    regs.write32(kGbpa, kGbpaAbort | kGbpaUpdate);
    for (u32 i = 0; i < kPollLimit && (regs.read32(kGbpa) & kGbpaUpdate); ++i) {
    }
    if (regs.read32(kGbpa) & kGbpaUpdate) {
        regs_ = nullptr;
        return Status::Timeout;
    }
    if (Status s = enable(0); s != Status::Ok) {
        regs_ = nullptr;
        return s;
    }
    for (Ste& s : mem_->strtab)
        s = Ste{};
    for (Cmd& c : mem_->cmdq)
        c = Cmd{};
    for (EventRecord& e : mem_->evtq)
        e = EventRecord{};
    fence();
    regs.write64(kStrtabBase, kQueueRa | addr_of(mem_->strtab));
    regs.write32(kStrtabBaseCfg, kStreamLog2); // FMT 0: linear
    regs.write64(kCmdqBase, kQueueRa | addr_of(mem_->cmdq) | kCmdqLog2);
    regs.write32(kCmdqProd, 0);
    regs.write32(kCmdqCons, 0);
    regs.write64(kEvtqBase, kQueueRa | addr_of(mem_->evtq) | kEvtqLog2);
    regs.write32(kEvtqProd, 0);
    regs.write32(kEvtqCons, 0);
    cmd_prod_ = 0;
    // Queues and tables: inner/outer write-back, inner shareable.
    regs.write32(kCr1, 1u | (1u << 2) | (3u << 4) | (1u << 6) | (1u << 8) | (3u << 10));
    regs.write32(kCr2, 1u << 1); // RECINVSID: out-of-range stream IDs are reported
    Status s = enable(kCr0CmdqEn | kCr0EvtqEn);
    if (s == Status::Ok) {
        const Cmd inval[] = {cmd_cfgi_all(), cmd_simple(kOpTlbiNsnhAll), cmd_simple(kOpTlbiEl2All)};
        s = submit(inval, 3);
    }
    if (s == Status::Ok) s = enable(kCr0CmdqEn | kCr0EvtqEn | kCr0SmmuEn);
    if (s != Status::Ok) regs_ = nullptr;
    return s;
}

Status Smmu::submit(const Cmd* cmds, u32 count) {
    if (regs_ == nullptr) return Status::BadState;
    const Cmd sync = cmd_sync();
    for (u32 i = 0; i <= count; ++i) {
        u32 polls = 0;
        while (queue_full(cmd_prod_, regs_->read32(kCmdqCons), kCmdqLog2))
            if (++polls == kPollLimit) return Status::Timeout;
        mem_->cmdq[queue_index(cmd_prod_, kCmdqLog2)] = i < count ? cmds[i] : sync;
        cmd_prod_ = queue_next(cmd_prod_, kCmdqLog2);
    }
    fence();
    regs_->write32(kCmdqProd, cmd_prod_);
    for (u32 i = 0; i < kPollLimit; ++i) {
        const u32 cons = regs_->read32(kCmdqCons);
        if ((regs_->read32(kGerror) ^ regs_->read32(kGerrorN)) & kGerrorCmdq)
            return Status::HardwareFault; // CMDQ_CONS.ERR says which command was refused
        if (queue_empty(cmd_prod_, cons, kCmdqLog2)) return Status::Ok;
    }
    return Status::Timeout;
}

Smmu::Domain* Smmu::find(u32 sid) {
    for (Domain& d : domains_)
        if (d.used && d.sid == sid) return &d;
    return nullptr;
}

Status Smmu::attach(u32 sid, const DmaMap* maps, u32 count) {
    if (regs_ == nullptr) return Status::BadState;
    if (sid >= (1u << kStreamLog2)) return Status::OutOfRange;
    if (find(sid) != nullptr) return Status::AlreadyExists;
    Domain* d = nullptr;
    for (Domain& c : domains_)
        if (!c.used && d == nullptr) d = &c;
    if (d == nullptr) return Status::NoMemory;
    const u32 slot = static_cast<u32>(d - domains_);
    d->tables.attach(pool_);
    KEEL_TRY(d->pt.init());
    for (u32 i = 0; i < count; ++i) {
        const Status s = d->pt.map(maps[i].iova, maps[i].pa, maps[i].size,
                                   mm::Attrs{true, maps[i].write, false, false});
        if (s != Status::Ok) {
            d->pt.destroy();
            return s;
        }
    }
    const u16 asid = static_cast<u16>(slot + 1); // ASID 0 stays unused
    mem_->cds[slot] = make_cd(d->pt.root().raw(), asid, ips_, SmmuS1Format::kMair);
    d->used = true;
    d->sid = sid;
    fence(); // tables and CD before the STE that names them
    mem_->strtab[sid] = make_ste_stage1(addr_of(&mem_->cds[slot]));
    const Cmd cmds[] = {cmd_cfgi_ste(sid), cmd_tlbi_nh_asid(asid)};
    return submit(cmds, 2);
}

Status Smmu::detach(u32 sid) {
    Domain* d = find(sid);
    if (d == nullptr) return Status::NotFound;
    const u32 slot = static_cast<u32>(d - domains_);
    mem_->strtab[sid] = Ste{};
    const Cmd cmds[] = {cmd_cfgi_ste(sid), cmd_tlbi_nh_asid(static_cast<u16>(slot + 1))};
    KEEL_TRY(submit(cmds, 2)); // on failure the tables stay: the SMMU may still walk them
    mem_->cds[slot] = Cd{};
    d->pt.destroy();
    d->used = false;
    return Status::Ok;
}

u32 Smmu::drain_events(EventSink& sink, bool* overflowed) {
    if (regs_ == nullptr) return 0;
    u32 n = 0;
    u32 cons = regs_->read32(kEvtqCons);
    u32 prod = regs_->read32(kEvtqProd);
    // Bounded: at most one queue's worth plus what arrives meanwhile.
    for (u32 guard = 0; guard < (2u << kEvtqLog2) && !queue_empty(prod, cons, kEvtqLog2); ++guard) {
        fence();
        sink.event(decode_event(mem_->evtq[queue_index(cons, kEvtqLog2)]));
        ++n;
        cons = (queue_next(cons, kEvtqLog2) & ~kQueueOverflow) | (cons & kQueueOverflow);
        regs_->write32(kEvtqCons, cons);
        prod = regs_->read32(kEvtqProd);
    }
    // OVFLG (PROD bit 31) differing from OVACKFLG (CONS bit 31): events were dropped.
    const bool lost = ((prod ^ cons) & kQueueOverflow) != 0;
    if (lost) regs_->write32(kEvtqCons, (cons & ~kQueueOverflow) | (prod & kQueueOverflow));
    if (overflowed != nullptr) *overflowed = lost;
    return n;
}

} // namespace keel::iommu
