// A model of an Intel VT-d remapping unit for the host tests of drivers/iommu/vtd.*
// (vtd_test.cpp, vtd_adopt_test.cpp): it walks the root, context and second-level tables the
// way the VT-d specification says hardware does (9.1, 9.3, 9.8; not with the page-table
// engine), caches context entries, translations and interrupt entries until the driver
// invalidates them (so a missing invalidation shows as a stale translation), runs the
// invalidation queue (6.5.2), remaps interrupts (5.1) and records faults in its fault
// recording registers (11.4.14).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "drivers/iommu/vtd.hpp"

namespace keel::iommu::model {

using namespace vtd;

// A remapping unit. Registers as 32-bit cells; writes to command registers act on the
// high doubleword (the driver writes low then high, 11.2).
class Unit final : public Mmio {
public:
    static constexpr u32 kFro = 0x220, kIro = 0x200, kNfr = 4;
    u64 cap = 2ull | (0x6ull << 8) | (47ull << 16) | (u64{kFro / 16} << 24) | (3ull << 34) |
              (u64{kNfr - 1} << 40);
    u64 ecap = (u64{kIro / 16} << 8) | 1; // coherent
    u32 gsts = 0;
    u32 te_drops = 0; // times translation went from on to off
    bool never_ack = false;
    u64 rtaddr_reg = 0, root = 0; // root = the latched pointer (SRTP)
    u32 ccmd_count = 0, iotlb_count = 0, wbf_count = 0;
    u32 fsts = 0, fectl = 0;
    u64 frcd[kNfr][2] = {};
    u32 next_fr = 0;
    // Queued invalidation and interrupt remapping state (6.5.2, 5.1).
    u64 iqa = 0, iqh = 0, iqt_reg = 0, irta_reg = 0, irt = 0, irta_latched = 0;
    u32 iec_count = 0, qi_ccmd = 0, qi_iotlb = 0, register_inval_while_queued = 0;
    bool refuse_descriptors = false;
    u32 writes = 0;                                          // register writes of any kind
    std::map<u16, Entry128> iec;                             // interrupt entry cache
    std::map<u16, Entry128> ctx_cache;                       // context cache
    std::map<std::pair<u16, u64>, std::pair<u64, bool>> tlb; // (rid, page) -> (pa, write ok)

    u32 read32(u32 off) override {
        auto half = [&](u64 v) { return static_cast<u32>((off & 4) ? v >> 32 : v); };
        if (off == kCap || off == kCap + 4) return half(cap);
        if (off == kEcap || off == kEcap + 4) return half(ecap);
        if (off == kGsts) return gsts;
        if (off == kCcmd || off == kCcmd + 4) return 0; // ICC clear: done
        if (off == kIro + kIotlbReg || off == kIro + kIotlbReg + 4) return 0;
        if (off == kFsts) return fsts;
        if (off == kRtaddr || off == kRtaddr + 4) return half(rtaddr_reg);
        if (off == kIqh || off == kIqh + 4) return half(iqh);
        if (off == kIqt || off == kIqt + 4) return half(iqt_reg);
        if (off == kIqa || off == kIqa + 4) return half(iqa);
        if (off == kIrta || off == kIrta + 4) return half(irta_reg);
        if (off >= kFro && off < kFro + kNfr * 16) {
            const u32 i = (off - kFro) / 16, q = ((off - kFro) % 16) / 8;
            return half(frcd[i][q]);
        }
        return 0;
    }
    void write32(u32 off, u32 v) override {
        ++writes;
        if (off == kRtaddr) rtaddr_reg = (rtaddr_reg & ~0xffffffffull) | v;
        if (off == kRtaddr + 4) rtaddr_reg = (rtaddr_reg & 0xffffffffull) | (u64{v} << 32);
        if (off == kGcmd) gcmd(v);
        if ((off == kCcmd + 4 || off == kIro + kIotlbReg + 4) && (gsts & kQie))
            ++register_inval_while_queued; // not allowed (6.5.2): must not happen
        if (off == kCcmd + 4 && (v & 0x80000000u)) ++ccmd_count, ctx_cache.clear();
        if (off == kIro + kIotlbReg + 4 && (v & 0x80000000u)) ++iotlb_count, tlb.clear();
        set64(off, kIqa, iqa, v);
        set64(off, kIrta, irta_reg, v);
        if (set64(off, kIqt, iqt_reg, v) && off == kIqt) run_queue();
        if (off == kFsts) fsts &= ~(v & (kFstsPfo | kFstsPpf));
        if (off == kFectl) fectl = v;
        if (off >= kFro && off < kFro + kNfr * 16 && (off % 16) == 12 && (v & 0x80000000u))
            frcd[(off - kFro) / 16][1] &= ~kFaultF;
    }
    static bool set64(u32 off, u32 reg, u64& r, u32 v) {
        if (off == reg) r = (r & ~0xffffffffull) | v;
        if (off == reg + 4) r = (r & 0xffffffffull) | (u64{v} << 32);
        return off == reg || off == reg + 4;
    }
    void gcmd(u32 v) {
        if (never_ack) return;
        if (v & kSrtp) root = rtaddr_reg, gsts |= kSrtp; // RTPS
        if (v & kSirtp) irta_latched = irta_reg, irt = irta_reg & ~0xfffull, gsts |= kSirtp;
        if (v & kWbf) ++wbf_count;
        if ((v & kQie) && !(gsts & kQie)) iqh = 0;
        if ((gsts & kTe) && !(v & kTe)) ++te_drops;
        gsts = (gsts & ~(kTe | kQie | kIre | kCfi)) | (v & (kTe | kQie | kIre | kCfi));
    }
    // Fetches descriptors from IQH to IQT (6.5.2): types 1, 2, 4 and 5 with SW.
    void run_queue() {
        if (!(gsts & kQie)) return;
        const auto* q = reinterpret_cast<const Entry128*>(iqa & ~0xfffull);
        while (iqh != iqt_reg) {
            const Entry128 d = q[(iqh >> 4) % 256];
            if (refuse_descriptors) {
                fsts |= kFstsIqe;
                return;
            }
            switch (d.lo & 0xf) {
            case 1: ++qi_ccmd, ctx_cache.clear(); break;
            case 2: ++qi_iotlb, tlb.clear(); break;
            case 4: ++iec_count, iec.clear(); break;
            case 5:
                if (d.lo & (1ull << 5))
                    *reinterpret_cast<u32*>(d.hi & ~3ull) = static_cast<u32>(d.lo >> 32);
                break;
            default: fsts |= kFstsIqe; return;
            }
            iqh = (iqh + 16) % (256 * 16);
        }
    }
    // An interrupt message as the unit remaps it (5.1.4): the (vector, APIC id) it
    // delivers, or nullopt with a fault recorded.
    std::optional<std::pair<u8, u32>> msi(u16 sid, u32 addr, u32 data) {
        if (!(gsts & kIre)) return std::pair<u8, u32>{static_cast<u8>(data), (addr >> 12) & 0xff};
        if (!(addr & (1u << 4))) { // compatibility format
            if ((irta_latched & kIrtaEime) || !(gsts & kCfi)) return irq_fail(sid, 0x25);
            return std::pair<u8, u32>{static_cast<u8>(data), (addr >> 12) & 0xff};
        }
        u32 handle = ((addr >> 5) & 0x7fff) | (((addr >> 2) & 1) << 15);
        if (addr & (1u << 3)) handle += data & 0xffff; // SHV: handle + subhandle (5.1.2.2)
        if (handle >= (2u << (irta_latched & 0xf))) return irq_fail(sid, 0x21);
        Entry128 e{};
        if (auto k = iec.find(static_cast<u16>(handle)); k != iec.end())
            e = k->second;
        else
            e = reinterpret_cast<const Entry128*>(irt)[handle];
        if (!(e.lo & 1)) return irq_fail(sid, 0x22);
        iec[static_cast<u16>(handle)] = e;
        if (((e.hi >> 18) & 3) == 1 && (e.hi & 0xffff) != sid) return irq_fail(sid, 0x26);
        const u32 dest = (irta_latched & kIrtaEime) ? static_cast<u32>(e.lo >> 32)
                                                    : static_cast<u32>(e.lo >> 40) & 0xff;
        return std::pair<u8, u32>{static_cast<u8>(e.lo >> 16), dest};
    }
    std::optional<std::pair<u8, u32>> irq_fail(u16 sid, u8 reason) {
        record(sid, reason, false, 0);
        return std::nullopt;
    }
    void record(u16 sid, u8 reason, bool read, u64 addr) {
        if (frcd[next_fr][1] & kFaultF) {
            fsts |= kFstsPfo;
            return;
        }
        frcd[next_fr][0] = addr & ~0xfffull;
        frcd[next_fr][1] = kFaultF | (read ? 1ull << 62 : 0) | (u64{reason} << 32) | sid;
        if (!(fsts & kFstsPpf)) fsts = (fsts & ~0xff00u) | (next_fr << 8) | kFstsPpf; // the first
        next_fr = (next_fr + 1) % kNfr;
    }
    // One DMA access as the unit translates it (chapter 3, 9): the physical address, or
    // nullopt with a fault recorded.
    std::optional<u64> dma(u16 rid, u64 iova, bool write) {
        if (!(gsts & kTe)) return iova; // translation off: passed through
        const u64 page = iova >> 12;
        if (auto t = tlb.find({rid, page}); t != tlb.end()) {
            if (write && !t->second.second) return fail(rid, 5, !write, iova);
            return t->second.first | (iova & 0xfff);
        }
        Entry128 c{};
        if (auto k = ctx_cache.find(rid); k != ctx_cache.end()) {
            c = k->second;
        } else {
            const auto* rt = reinterpret_cast<const Entry128*>(root);
            const Entry128 re = rt[rid >> 8];
            if (!(re.lo & 1)) return fail(rid, 1, !write, iova);
            c = reinterpret_cast<const Entry128*>(re.lo & ~0xfffull)[rid & 0xff];
            if (!(c.lo & 1)) return fail(rid, 2, !write, iova);
            ctx_cache[rid] = c;
        }
        const u32 aw = static_cast<u32>(c.hi & 7);
        const int levels = aw == 1 ? 3 : aw == 2 ? 4 : 0;
        if (levels == 0 || (c.lo >> 2 & 3) != 0) return fail(rid, 3, !write, iova);
        if (iova >> (levels == 3 ? 39 : 48)) return fail(rid, 4, !write, iova);
        u64 table = c.lo & ~0xfffull;
        bool w_ok = true;
        for (int l = levels - 1; l >= 0; --l) { // l: the level's shift index (0 = 4 KiB)
            const u64 e = reinterpret_cast<const u64*>(table)[(iova >> (12 + 9 * l)) & 511];
            if (!(e & 3)) return fail(rid, write ? 5 : 6, !write, iova);
            if (!(e & 1)) return fail(rid, 6, !write, iova);
            w_ok = w_ok && (e & 2);
            const u64 addr = e & 0x000ffffffffff000ull;
            if (l == 0 || (l == 1 && (e & 0x80))) {
                const u64 pa = l == 0 ? addr : addr + (iova & 0x1ff000);
                tlb[{rid, page}] = {pa, w_ok};
                if (write && !w_ok) return fail(rid, 5, !write, iova);
                return pa | (iova & 0xfff);
            }
            table = addr;
        }
        return fail(rid, 3, !write, iova);
    }
    std::optional<u64> fail(u16 rid, u8 reason, bool read, u64 iova) {
        record(rid, reason, read, iova);
        return std::nullopt;
    }
};

struct Collect final : FaultSink {
    std::vector<Fault> got;
    void fault(const Fault& f) override { got.push_back(f); }
};

struct Rig {
    std::unique_ptr<VtdMemory> mem = std::make_unique<VtdMemory>();
    std::unique_ptr<mm::TableStorage<64>> storage = std::make_unique<mm::TableStorage<64>>();
    mm::TablePool pool{*storage};
    Vtd vtd{*mem, pool};
    Unit unit;
    std::vector<std::pair<const void*, usize>> cleaned;
};

// Backing "memory" a VM would own: two 2 MiB-aligned ranges.
alignas(2 * MiB) inline u8 g_ram[4 * MiB];
inline u64 ram() { return reinterpret_cast<u64>(g_ram); }

// A unit with the invalidation queue and interrupt remapping (ECAP.QI, ECAP.IR), as
// QEMU's intel-iommu with intremap=on (its ECAP 0xf00f4a: QI, IR, EIM, PT, ...).
inline Unit& queued_unit(Unit& u) {
    u.ecap |= (1ull << 1) | (1ull << 3);
    return u;
}

} // namespace keel::iommu::model
