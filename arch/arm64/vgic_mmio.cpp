// Emulated GICv3 distributor and redistributors (IHI 0069 12.9 GICD_*, 12.10/12.11
// GICR_*): enough for Linux's irq-gic-v3 driver. 64 INTIDs (SGIs, PPIs, 32 SPIs), one
// security state (GICD_CTLR.DS = 1), affinity routing always on, no LPIs. Active state
// lives in the list registers, so ISACTIVER reads as 0 and ICACTIVER is ignored.
#include "gic_regs.hpp"
#include "vgic.hpp"
#include "vm_arch.hpp"

namespace keel::arm64 {
namespace {

using namespace gic;

constexpr u32 kIidr = 0x0300043b;      // implementer Arm, as QEMU's GIC reports
constexpr u32 kTyperIdBits = 9u << 19; // 10 INTID bits
constexpr u32 kTyperItLines = 1;       // (1 + 1) * 32 = 64 INTIDs

enum class Op { Set, Clear, Store };

// One 32-bit bitmap register: read it, or apply a write.
u64 bits(u32* word, bool write, u64 val, Op op) {
    if (!write) return __atomic_load_n(word, __ATOMIC_ACQUIRE);
    const u32 v = static_cast<u32>(val);
    if (op == Op::Set)
        __atomic_fetch_or(word, v, __ATOMIC_ACQ_REL);
    else if (op == Op::Clear)
        __atomic_fetch_and(word, ~v, __ATOMIC_ACQ_REL);
    else
        __atomic_store_n(word, v, __ATOMIC_RELEASE);
    return 0;
}

// IPRIORITYR: byte array, byte or word accesses.
u64 prio(u8* p, u32 off, bool write, u8 size, u64 val) {
    u64 r = 0;
    for (u32 b = 0; b < size && off + b < 32; ++b) {
        if (write)
            p[off + b] = static_cast<u8>(val >> (8 * b));
        else
            r |= static_cast<u64>(p[off + b]) << (8 * b);
    }
    return r;
}

// The SGI_base frame and the distributor share the layout of these registers; `n` is
// the 32-INTID word (0 for SGI_base, 1 for the SPIs).
bool common(u32* enabled, u32* pending, u32* group, u32 off, bool write, u64* value) {
    const u64 v = *value;
    switch (off) {
    case kGicdIgroupr: *value = bits(group, write, v, Op::Store); return true;
    case kGicdIsenabler: *value = bits(enabled, write, v, Op::Set); return true;
    case kGicdIcenabler: *value = bits(enabled, write, v, Op::Clear); return true;
    case kGicdIspendr: *value = bits(pending, write, v, Op::Set); return true;
    case kGicdIcpendr: *value = bits(pending, write, v, Op::Clear); return true;
    case kGicdIsactiver:
    case kGicdIcactiver:
    case kGicdIgrpmodr: *value = 0; return true;
    default: return false;
    }
}

void dist(Vcpu& v, u32 off, bool write, u8 size, u64* value) {
    VmContext& a = v.vm->arch;
    VgicDist& d = a.dist;
    const u64 val = *value;
    const u64 in = *value;
    *value = 0;
    if (off == kGicdCtlr) {
        if (write)
            __atomic_store_n(&d.ctlr,
                             static_cast<u32>(val) & (kGicdCtlrEnableGrp0 | kGicdCtlrEnableGrp1),
                             __ATOMIC_RELEASE);
        else
            *value = d.ctlr | kGicdCtlrAre | kGicdCtlrDs;
        return;
    }
    if (off == kGicdTyper) {
        *value = kTyperIdBits | ((a.nvcpus - 1) << 5) | kTyperItLines;
        return;
    }
    if (off == kGicdIidr) {
        *value = kIidr;
        return;
    }
    if (off == kPidr2) {
        *value = kPidr2ArchV3;
        return;
    }
    if (off >= kGicdIpriorityr && off < kGicdIpriorityr + 64) {
        if (off >= kGicdIpriorityr + 32)
            *value = prio(d.priority, off - kGicdIpriorityr - 32, write, size, val);
        return;
    }
    if (off >= kGicdIrouter + 8 * 32 && off < kGicdIrouter + 8 * 64) {
        const u32 i = (off - kGicdIrouter - 8 * 32) / 8;
        const bool high = off & 4;
        u64 r = __atomic_load_n(&d.irouter[i], __ATOMIC_ACQUIRE);
        if (!write) {
            *value = size == 8 ? r : high ? r >> 32 : r & 0xffffffff;
            return;
        }
        if (size == 8)
            r = val;
        else if (high)
            r = (r & 0xffffffffull) | (val << 32);
        else
            r = (r & ~0xffffffffull) | (val & 0xffffffffull);
        __atomic_store_n(&d.irouter[i], r, __ATOMIC_RELEASE);
        return;
    }
    if (off == kGicdIcfgr + 8 || off == kGicdIcfgr + 12) {
        u32& w = d.icfgr[(off - kGicdIcfgr - 8) / 4];
        if (write)
            w = static_cast<u32>(val);
        else
            *value = w;
        return;
    }
    // Bitmap registers: word 1 (INTIDs 32-63) is ours; word 0 is the redistributors'
    // under affinity routing (RAZ/WI), the rest do not exist.
    if (off < 0x400 && off >= kGicdIgroupr && (off & 0x7f) == 4) {
        u64 v2 = in;
        if (common(&d.enabled, &d.pending, &d.group, off - 4, write, &v2)) *value = v2;
    }
}

void redist(Vcpu& v, Vcpu& t, u32 off, bool write, u8 size, u64* value) {
    VmContext& a = v.vm->arch;
    VgicCpu& g = t.gic;
    const u64 val = *value;
    *value = 0;
    if (off < kGicrSgiBase) {
        switch (off) {
        case kGicrTyper:
        case kGicrTyper + 4: {
            u64 typer = (static_cast<u64>(t.index) << 32) | (static_cast<u64>(t.index) << 8);
            if (t.index + 1 == a.nvcpus) typer |= kGicrTyperLast;
            *value = size == 8 ? typer : (off & 4) ? typer >> 32 : typer & 0xffffffff;
            return;
        }
        case kGicrIidr: *value = kIidr; return;
        case kGicrWaker:
            if (write) {
                const u32 sleep = static_cast<u32>(val) & kGicrWakerProcessorSleep;
                __atomic_store_n(&g.waker, sleep | (sleep ? kGicrWakerChildrenAsleep : 0),
                                 __ATOMIC_RELEASE);
            } else {
                *value = __atomic_load_n(&g.waker, __ATOMIC_ACQUIRE);
            }
            return;
        case kPidr2: *value = kPidr2ArchV3; return;
        default: return; // GICR_CTLR (no LPIs, RWP 0) and the rest: RAZ/WI
        }
    }
    off -= static_cast<u32>(kGicrSgiBase);
    if (off >= kGicdIpriorityr && off < kGicdIpriorityr + 32) {
        *value = prio(g.priority, off - kGicdIpriorityr, write, size, val);
        return;
    }
    if (off == kGicdIcfgr) {
        *value = 0xaaaaaaaa;
        return;
    } // SGIs: edge, read-only
    if (off == kGicdIcfgr + 4) {
        if (write)
            g.icfgr1 = static_cast<u32>(val);
        else
            *value = g.icfgr1;
        return;
    }
    u64 v2 = val;
    if (common(&g.enabled, &g.pending, &g.group, off, write, &v2)) *value = v2;
}

} // namespace

bool vgic_mmio(Vcpu& v, u64 ipa, bool write, u8 size, u64* value) {
    VmContext& a = v.vm->arch;
    if (ipa >= kGuestGicdIpa && ipa < kGuestGicdIpa + kGicdSize) {
        dist(v, static_cast<u32>(ipa - kGuestGicdIpa), write, size, value);
        return true;
    }
    if (ipa >= kGuestGicrIpa && ipa < kGuestGicrIpa + a.nvcpus * kGicrFrame) {
        const u64 off = ipa - kGuestGicrIpa;
        redist(v, a.vcpus[off / kGicrFrame], static_cast<u32>(off % kGicrFrame), write, size,
               value);
        return true;
    }
    return false;
}

} // namespace keel::arm64
