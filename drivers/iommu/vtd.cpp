#include "drivers/iommu/vtd.hpp"

namespace keel::iommu {
namespace {

// The unit acts within microseconds: a bound on register reads, not time, keeps this
// free of any clock (as in smmuv3.cpp).
constexpr u32 kPollLimit = 1u << 22;

void fence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
u64 addr_of(const void* p) { return reinterpret_cast<u64>(p); }
u64 read64(Mmio& r, u32 off) { return r.read32(off) | (u64{r.read32(off + 4)} << 32); }

} // namespace

const char* vtd::fault_reason_name(u8 reason) {
    switch (reason) {
    case 0x1: return "root entry not present";
    case 0x2: return "context entry not present";
    case 0x3: return "invalid context entry";
    case 0x4: return "address beyond the address width";
    case 0x5: return "write not allowed";
    case 0x6: return "read not allowed";
    case 0x7: return "paging entry not readable";
    case 0x8: return "root table unreadable";
    case 0x9: return "context table unreadable";
    case 0xa: return "root entry reserved bits";
    case 0xb: return "context entry reserved bits";
    case 0xc: return "paging entry reserved bits";
    case 0xd: return "translated request blocked";
    case 0x20: return "interrupt request reserved bits";
    case 0x21: return "interrupt index beyond the table";
    case 0x22: return "interrupt entry not present";
    case 0x23: return "interrupt table unreadable";
    case 0x24: return "interrupt entry reserved bits";
    case 0x25: return "compatibility-format interrupt blocked";
    case 0x26: return "interrupt source not verified";
    default: return "other";
    }
}

void Vtd::publish(const void* p, usize n) const {
    if (!vtd::ecap_coherent(ecap_) && clean_ != nullptr) clean_(p, n);
    fence();
}

Status Vtd::command(u32 bit, bool on) {
    // GCMD is write-only: write the states to keep plus the one bit to change (11.4.4).
    const u32 keep = regs_->read32(vtd::kGsts) & vtd::kPersistent & ~bit;
    regs_->write32(vtd::kGcmd, keep | (on ? bit : 0));
    for (u32 i = 0; i < kPollLimit; ++i)
        if (((regs_->read32(vtd::kGsts) & bit) != 0) == on) return Status::Ok;
    return Status::Timeout;
}

Status Vtd::queue(const vtd::Entry128* descs, u32 count) {
    // One batch at a time: the queue is empty on entry (the last batch ended with a wait
    // that completed), so count + 1 descriptors always fit.
    ++wait_seq_;
    mem_->wait_status = 0;
    for (u32 i = 0; i <= count; ++i) {
        mem_->queue[tail_] =
            i < count ? descs[i] : vtd::qi_wait(addr_of(&mem_->wait_status), wait_seq_);
        tail_ = (tail_ + 1) % kVtdQueue;
    }
    publish(mem_->queue, sizeof mem_->queue);
    publish(&mem_->wait_status, sizeof mem_->wait_status);
    regs_->write64(vtd::kIqt, u64{tail_} << 4);
    for (u32 i = 0; i < kPollLimit; ++i) {
        if (__atomic_load_n(&mem_->wait_status, __ATOMIC_ACQUIRE) == wait_seq_) return Status::Ok;
        if (regs_->read32(vtd::kFsts) & vtd::kFstsIqe) return Status::HardwareFault;
    }
    return Status::Timeout;
}

Status Vtd::invalidate() {
    if (queued_) {
        const vtd::Entry128 all[] = {vtd::qi_context_global(), vtd::qi_iotlb_global(),
                                     vtd::qi_iec_global()};
        return queue(all, remapping_ ? 3 : 2);
    }
    if (vtd::cap_rwbf(cap_)) {
        const u32 keep = regs_->read32(vtd::kGsts) & vtd::kPersistent;
        regs_->write32(vtd::kGcmd, keep | vtd::kWbf);
        u32 i = 0;
        while (i < kPollLimit && (regs_->read32(vtd::kGsts) & vtd::kWbf) != 0)
            ++i;
        if (i == kPollLimit) return Status::Timeout;
    }
    regs_->write64(vtd::kCcmd, vtd::kCcmdIcc | vtd::kCcmdGlobal);
    u32 i = 0;
    while (i < kPollLimit && (read64(*regs_, vtd::kCcmd) & vtd::kCcmdIcc) != 0)
        ++i;
    if (i == kPollLimit) return Status::Timeout;
    const u32 iotlb = vtd::ecap_iotlb_offset(ecap_) + vtd::kIotlbReg;
    regs_->write64(iotlb, vtd::kIotlbIvt | vtd::kIotlbGlobal | vtd::kIotlbDrain);
    for (i = 0; i < kPollLimit; ++i)
        if ((read64(*regs_, iotlb) & vtd::kIotlbIvt) == 0) return Status::Ok;
    return Status::Timeout;
}

// What firmware left on, before Keel's tables take over. Interrupt remapping goes off (a
// new table is not latched under a running one; until Keel's is on, a device's message
// reaches the APICs as sent), the invalidation queue goes off once the unit has fetched
// everything in it (IQH == IQT, 6.5.2.1; Keel's queue replaces it). Translation stays on
// when firmware's root table is a legacy one: Keel's root is latched (SRTP) and the caches
// invalidated while it runs, so no DMA goes untranslated at any moment. A root table in
// another mode (scalable, TTM != 00) is not replaced under translation: translation goes
// off first, and until Keel's tables are on DMA is not remapped.
Status Vtd::stop_firmware_state(u32 gsts) {
    if (gsts & vtd::kIre) KEEL_TRY(command(vtd::kIre, false));
    if (gsts & vtd::kQie) {
        u32 i = 0;
        while (i < kPollLimit && read64(*regs_, vtd::kIqh) != read64(*regs_, vtd::kIqt))
            ++i;
        if (i == kPollLimit) return Status::Timeout;
        KEEL_TRY(command(vtd::kQie, false));
    }
    const bool legacy_root = (read64(*regs_, vtd::kRtaddr) & vtd::kRtaddrTtm) == 0;
    return (gsts & vtd::kTe) != 0 && !legacy_root ? command(vtd::kTe, false) : Status::Ok;
}

Status Vtd::start_queue() {
    for (vtd::Entry128& e : mem_->queue)
        e = vtd::Entry128{};
    tail_ = 0;
    regs_->write64(vtd::kIqt, 0);
    regs_->write64(vtd::kIqa, addr_of(mem_->queue)); // DW 0 (128-bit), QS 0 (one page)
    KEEL_TRY(command(vtd::kQie, true));
    queued_ = true;
    return Status::Ok;
}

Status Vtd::start_remapping(bool x2apic) {
    x2apic_dest_ = x2apic && vtd::ecap_eim(ecap_);
    for (vtd::Entry128& e : mem_->irt)
        e = vtd::Entry128{};
    publish(mem_->irt, sizeof mem_->irt);
    regs_->write64(vtd::kIrta,
                   addr_of(mem_->irt) | (x2apic_dest_ ? vtd::kIrtaEime : 0) | (kVtdIrtLog2 - 1));
    KEEL_TRY(command(vtd::kSirtp, true)); // GSTS.IRTPS (the same bit) when latched
    const vtd::Entry128 iec = vtd::qi_iec_global();
    KEEL_TRY(queue(&iec, 1));
    // IRE on with CFI left clear: compatibility-format messages are blocked (5.1.4).
    KEEL_TRY(command(vtd::kIre, true));
    remapping_ = true;
    return Status::Ok;
}

bool Vtd::probe(Mmio& regs) {
    const u64 cap = read64(regs, vtd::kCap), ecap = read64(regs, vtd::kEcap);
    const u32 sagaw = vtd::cap_sagaw(cap);
    if (cap == ~0ull || (sagaw & (vtd::kSagaw39 | vtd::kSagaw48)) == 0 ||
        (vtd::cap_sllps(cap) & 1) == 0 || vtd::cap_domains_log2(cap) < 5 ||
        (!vtd::ecap_queued_inval(ecap) && vtd::ecap_iotlb_offset(ecap) == 0))
        return false;
    cap_ = cap, ecap_ = ecap;
    levels_ = (sagaw & vtd::kSagaw48) != 0 ? 4 : 3;
    return true;
}

Status Vtd::use_memory(VtdMemory& mem) {
    if (regs_ != nullptr) return Status::BadState;
    mem_ = &mem;
    return Status::Ok;
}

u32 Vtd::domains() const {
    u32 n = 0;
    for (const Domain& d : domains_)
        n += d.used;
    return n;
}

bool Vtd::routed(u16 handle, u8 vector, u32 apic_id, u16 sid) const {
    if (regs_ == nullptr || !remapping_ || handle >= (1u << kVtdIrtLog2)) return false;
    const vtd::Entry128 want = vtd::make_irte(vector, apic_id, x2apic_dest_, sid);
    return mem_->irt[handle].lo == want.lo && mem_->irt[handle].hi == want.hi;
}

bool Vtd::route_present(u16 handle) const {
    return regs_ != nullptr && remapping_ && handle < (1u << kVtdIrtLog2) &&
           (mem_->irt[handle].lo & 1) != 0;
}

// One bus's context table: each present entry exactly what attach writes, its domain id one
// of Keel's and unused so far, its tree in the pool.
Status Vtd::adopt_context(vtd::Entry128* table, u8 bus) {
    const u32 aw = levels_ == 4 ? vtd::kAw48 : vtd::kAw39;
    for (u32 devfn = 0; devfn < 256; ++devfn) {
        const vtd::Entry128 e = table[devfn];
        if ((e.lo & 1) == 0) {
            if (e.lo != 0 || e.hi != 0) return Status::Corrupt;
            continue;
        }
        const u64 root = e.lo & ~0xfffull;
        const u16 did = static_cast<u16>(e.hi >> 8);
        const vtd::Entry128 want = vtd::make_context(root, did, aw);
        if (e.lo != want.lo || e.hi != want.hi || did == 0 || did > kVtdDomains ||
            domains_[did - 1].used)
            return Status::Corrupt;
        Domain& d = domains_[did - 1];
        KEEL_TRY(levels_ == 4 ? mm::adopt_tree(pool_, PhysAddr(root), d.tables, d.pt4)
                              : mm::adopt_tree(pool_, PhysAddr(root), d.tables, d.pt3));
        d.used = true;
        d.rid = static_cast<u16>(u32{bus} << 8 | devfn);
    }
    return Status::Ok;
}

Status Vtd::adopt(Mmio& regs, CacheClean clean) {
    if (regs_ != nullptr) return Status::BadState;
    if (!probe(regs)) return Status::Unsupported;
    const u32 gsts = regs.read32(vtd::kGsts);
    const bool queued = vtd::ecap_queued_inval(ecap_);
    const bool remapping = queued && vtd::ecap_intr_remap(ecap_);
    const u64 irta = read64(regs, vtd::kIrta), iqt = read64(regs, vtd::kIqt);
    const u64 irt_want = addr_of(mem_->irt) | (kVtdIrtLog2 - 1);
    // What init leaves on: translation through this root table (legacy mode), the queue
    // on this memory with nothing left in it, remapping on this table without CFI.
    if ((gsts & vtd::kTe) == 0 || read64(regs, vtd::kRtaddr) != addr_of(mem_->root) ||
        ((gsts & vtd::kQie) != 0) != queued || ((gsts & vtd::kIre) != 0) != remapping ||
        (gsts & vtd::kCfi) != 0)
        return Status::Corrupt;
    if (queued && (read64(regs, vtd::kIqa) != addr_of(mem_->queue) ||
                   read64(regs, vtd::kIqh) != iqt || iqt % 16 != 0 || iqt >= kVtdQueue * 16))
        return Status::Corrupt;
    if (remapping && (irta & ~vtd::kIrtaEime) != irt_want) return Status::Corrupt;
    // Each present root entry names one of this memory's context tables, each table once.
    for (u32 bus = 0; bus < 256; ++bus) {
        const vtd::Entry128 r = mem_->root[bus];
        if ((r.lo & 1) == 0) {
            if (r.lo != 0 || r.hi != 0) return Status::Corrupt;
            continue;
        }
        const u64 table = r.lo & ~0xfffull;
        const u64 slot = (table - addr_of(mem_->context)) / sizeof mem_->context[0];
        if (table < addr_of(mem_->context) || slot >= kVtdContextTables ||
            table != addr_of(mem_->context[slot]) || table_used_[slot] ||
            r.lo != vtd::make_root(table).lo || r.hi != 0)
            return Status::Corrupt;
        table_used_[slot] = true;
        bus_of_table_[slot] = static_cast<u8>(bus);
        KEEL_TRY(adopt_context(mem_->context[slot], static_cast<u8>(bus)));
    }
    clean_ = clean;
    queued_ = queued;
    remapping_ = remapping;
    x2apic_dest_ = remapping && (irta & vtd::kIrtaEime) != 0;
    tail_ = queued ? static_cast<u32>(iqt >> 4) : 0;
    // The last wait's number is what its status word holds; the next one follows it.
    wait_seq_ = __atomic_load_n(&mem_->wait_status, __ATOMIC_ACQUIRE);
    regs_ = &regs;
    return Status::Ok;
}

Status Vtd::init(Mmio& regs, CacheClean clean, bool x2apic) {
    if (!probe(regs)) return Status::Unsupported;
    regs_ = &regs;
    clean_ = clean;
    queued_ = remapping_ = false;
    Status s = stop_firmware_state(regs.read32(vtd::kGsts));
    for (vtd::Entry128& e : mem_->root)
        e = vtd::Entry128{};
    for (bool& u : table_used_)
        u = false;
    publish(mem_->root, sizeof mem_->root);
    if (s == Status::Ok) {
        regs.write64(vtd::kRtaddr, addr_of(mem_->root)); // TTM 00: legacy root table
        s = command(vtd::kSrtp, true);
    }
    if (s == Status::Ok && vtd::ecap_queued_inval(ecap_)) s = start_queue();
    if (s == Status::Ok) s = invalidate();
    if (s == Status::Ok && queued_ && vtd::ecap_intr_remap(ecap_)) s = start_remapping(x2apic);
    if (s == Status::Ok) {
        bool overflowed = false;
        struct Drop final : FaultSink {
            void fault(const vtd::Fault&) override {}
        } drop;
        (void)drain_faults(drop, &overflowed);    // whatever firmware's time left behind
        regs.write32(vtd::kFectl, vtd::kFectlIm); // polled: no fault interrupt
        if ((regs.read32(vtd::kGsts) & vtd::kTe) == 0) s = command(vtd::kTe, true);
    }
    if (s != Status::Ok) regs_ = nullptr;
    return s;
}

Status Vtd::route_msi(u16 handle, u8 vector, u32 apic_id, u16 sid) {
    if (regs_ == nullptr || !remapping_) return Status::BadState;
    if (handle >= (1u << kVtdIrtLog2)) return Status::OutOfRange;
    if (apic_id > 0xff && !x2apic_dest_) return Status::Unsupported;
    mem_->irt[handle] = vtd::make_irte(vector, apic_id, x2apic_dest_, sid);
    publish(&mem_->irt[handle], sizeof mem_->irt[handle]);
    const vtd::Entry128 iec = vtd::qi_iec_global();
    return queue(&iec, 1);
}

Status Vtd::unroute_msi(u16 handle) {
    if (regs_ == nullptr || !remapping_) return Status::BadState;
    if (handle >= (1u << kVtdIrtLog2)) return Status::OutOfRange;
    if ((mem_->irt[handle].lo & 1) == 0) return Status::NotFound;
    mem_->irt[handle] = vtd::Entry128{};
    publish(&mem_->irt[handle], sizeof mem_->irt[handle]);
    const vtd::Entry128 iec = vtd::qi_iec_global();
    return queue(&iec, 1);
}

vtd::Entry128* Vtd::context_table(u8 bus, bool create) {
    for (u32 i = 0; i < kVtdContextTables; ++i)
        if (table_used_[i] && bus_of_table_[i] == bus) return mem_->context[i];
    if (!create) return nullptr;
    for (u32 i = 0; i < kVtdContextTables; ++i) {
        if (table_used_[i]) continue;
        for (vtd::Entry128& e : mem_->context[i])
            e = vtd::Entry128{};
        publish(mem_->context[i], sizeof mem_->context[i]);
        table_used_[i] = true;
        bus_of_table_[i] = bus;
        mem_->root[bus] = vtd::make_root(addr_of(mem_->context[i]));
        publish(&mem_->root[bus], sizeof mem_->root[bus]);
        return mem_->context[i];
    }
    return nullptr;
}

Status Vtd::map_domain(Domain& d, const DmaMap* maps, u32 count) {
    for (u32 i = 0; i < count; ++i) {
        const mm::Attrs a{true, maps[i].write, false, false};
        const Status s = levels_ == 4 ? d.pt4.map(maps[i].iova, maps[i].pa, maps[i].size, a)
                                      : d.pt3.map(maps[i].iova, maps[i].pa, maps[i].size, a);
        if (s != Status::Ok) return s;
    }
    return Status::Ok;
}

Status Vtd::attach(u16 rid, const DmaMap* maps, u32 count) {
    if (regs_ == nullptr) return Status::BadState;
    if (find(rid) != nullptr) return Status::AlreadyExists;
    Domain* d = nullptr;
    for (Domain& c : domains_)
        if (!c.used && d == nullptr) d = &c;
    if (d == nullptr) return Status::NoMemory;
    const u8 bus = static_cast<u8>(rid >> 8), devfn = static_cast<u8>(rid);
    const bool had_table = context_table(bus, false) != nullptr;
    vtd::Entry128* ctx = context_table(bus, true);
    if (ctx == nullptr) return Status::NoMemory;
    d->tables.attach(pool_);
    Status s = levels_ == 4 ? d->pt4.init() : d->pt3.init();
    if (s == Status::Ok) s = map_domain(*d, maps, count);
    if (s != Status::Ok) {
        levels_ == 4 ? d->pt4.destroy() : d->pt3.destroy();
        if (!had_table) { // back as it was: the bus's root entry not present
            for (u32 i = 0; i < kVtdContextTables; ++i)
                if (table_used_[i] && bus_of_table_[i] == bus) table_used_[i] = false;
            mem_->root[bus] = vtd::Entry128{};
            publish(&mem_->root[bus], sizeof mem_->root[bus]);
        }
        return s;
    }
    // Every table page the walk can reach, then the context entry that names the root.
    const PhysAddr root = levels_ == 4 ? d->pt4.root() : d->pt3.root();
    publish(pool_.base(), pool_.bytes());
    const u16 did = static_cast<u16>(d - domains_ + 1); // domain 0 stays unused (CM=1 reserves it)
    ctx[devfn] = vtd::make_context(root.raw(), did, levels_ == 4 ? vtd::kAw48 : vtd::kAw39);
    publish(&ctx[devfn], sizeof ctx[devfn]);
    d->used = true;
    d->rid = rid;
    return invalidate();
}

Status Vtd::detach(u16 rid) {
    Domain* d = find(rid);
    if (d == nullptr) return Status::NotFound;
    vtd::Entry128* ctx = context_table(static_cast<u8>(rid >> 8), false);
    if (ctx != nullptr) {
        ctx[static_cast<u8>(rid)] = vtd::Entry128{};
        publish(&ctx[static_cast<u8>(rid)], sizeof ctx[0]);
    }
    KEEL_TRY(invalidate()); // on failure the tables stay: the unit may still walk them
    levels_ == 4 ? d->pt4.destroy() : d->pt3.destroy();
    d->used = false;
    return Status::Ok;
}

u32 Vtd::drain_faults(FaultSink& sink, bool* overflowed) {
    if (regs_ == nullptr) return 0;
    const u32 base = vtd::cap_fault_offset(cap_), count = vtd::cap_fault_count(cap_);
    u32 n = 0;
    // The recording registers are a ring the unit fills from FSTS.FRI on; a full pass
    // over all of them finds every valid one wherever it started.
    for (u32 k = 0, i = vtd::fsts_fault_index(regs_->read32(vtd::kFsts)); k < count; ++k) {
        const u32 at = base + ((i + k) % count) * 16;
        const u64 hi = read64(*regs_, at + 8);
        if ((hi & vtd::kFaultF) == 0) continue;
        sink.fault(vtd::decode_fault(read64(*regs_, at), hi));
        regs_->write32(at + 12, static_cast<u32>(vtd::kFaultF >> 32)); // F is write-1-to-clear
        ++n;
    }
    const u32 fsts = regs_->read32(vtd::kFsts);
    if (overflowed != nullptr) *overflowed = (fsts & vtd::kFstsPfo) != 0;
    regs_->write32(vtd::kFsts, fsts & (vtd::kFstsPfo | vtd::kFstsPpf)); // RW1C
    return n;
}

Vtd::Domain* Vtd::find(u16 rid) {
    for (Domain& d : domains_)
        if (d.used && d.rid == rid) return &d;
    return nullptr;
}

} // namespace keel::iommu
