// List-register planning for the virtual GICv3, as pure logic (no system registers):
// given the list registers as read and the INTIDs that want delivery, decide what to
// write (IHI 0069 12.5.8 ICH_LR<n>_EL2; 4.2/4.3 interrupt state machine). vgic.cpp
// reads/writes the registers around it; the host unit tests drive it directly.
//
// Rules, per wanted INTID:
//   not listed               -> a free LR gets it Pending (HW-linked for the virtual
//                               timer, EOI maintenance for level SPIs); none free: wait
//                               (ICH_HCR_EL2.UIE asks for a maintenance IRQ as LRs drain)
//   listed Pending/Act+Pend  -> edge: merged (GIC 4.2: an edge while pending is one)
//   listed Active, edge      -> Active+Pending in place (no maintenance round trip)
//   listed, level            -> LR.EOI: exit when the guest deactivates, then resample
//   listed HW (timer)        -> left pending here; the physical PPI stays active until
//                               the guest deactivates the virtual one
// An LR whose state is Invalid is free; it is zeroed, which also clears its ICH_EISR_EL2
// bit (the EOI maintenance condition).
#pragma once

#include "gic_regs.hpp"
#include "hypervisor/types.hpp"

namespace keel::arm64 {

constexpr u32 kVgicIntids = 64;
constexpr u32 kMaxLrs = 16;

struct LrPlan {
    u32 n = 0;            // list registers implemented (ICH_VTR_EL2.ListRegs + 1)
    u64 lr[kMaxLrs]{};    // in: as read; out: as they must be
    u32 dirty = 0;        // out: LRs to write back
    u64 consumed = 0;     // out: INTIDs now represented in an LR (clear their pending bit)
    bool waiting = false; // out: some wanted INTID found no LR (set ICH_HCR_EL2.UIE)
};

// `want`: pending & enabled INTIDs (bit = INTID); `level`: those that are level-sensitive
// and asserted; `group1`: IGROUPR bits; `prio_sgi_ppi` / `prio_spi`: IPRIORITYR bytes for
// INTIDs 0..31 (the redistributor's) and 32..63 (the distributor's).
constexpr void lr_plan(LrPlan& p, u64 want, u64 level, u64 group1, const u8* prio_sgi_ppi,
                       const u8* prio_spi) {
    using namespace gic;
    u32 free = 0;
    u64 in_lr = 0;
    for (u32 i = 0; i < p.n; ++i) {
        const u64 lr = p.lr[i];
        if ((lr & kLrStateMask) == 0) {
            free |= 1u << i;
            if (lr != 0) {
                p.lr[i] = 0;
                p.dirty |= 1u << i;
            }
        } else if ((lr & kLrVintidMask) < kVgicIntids) {
            in_lr |= 1ull << (lr & kLrVintidMask);
        }
    }
    while (want) {
        const u32 id = static_cast<u32>(__builtin_ctzll(want));
        const u64 bit = 1ull << id;
        want &= want - 1;
        const bool lvl = (level & bit) != 0;
        if (in_lr & bit) {
            for (u32 i = 0; i < p.n; ++i) {
                const u64 lr = p.lr[i];
                if ((lr & kLrVintidMask) != id || (lr & kLrStateMask) == 0 || (lr & kLrHw))
                    continue;
                if (lvl) {
                    if (!(lr & kLrEoi)) {
                        p.lr[i] = lr | kLrEoi;
                        p.dirty |= 1u << i;
                    }
                    continue;
                }
                if ((lr & kLrStateMask) == kLrStateActive) {
                    p.lr[i] = lr | kLrStatePending;
                    p.dirty |= 1u << i;
                }
                p.consumed |= bit;
            }
            continue;
        }
        if (free == 0) {
            p.waiting = true;
            break;
        }
        const u32 i = static_cast<u32>(__builtin_ctz(free));
        free &= free - 1;
        const u8 prio = id < 32 ? prio_sgi_ppi[id] : prio_spi[id - 32];
        u64 val = id | kLrStatePending | (static_cast<u64>(prio) << kLrPriorityShift);
        if (group1 & bit) val |= kLrGroup1;
        if (is_guest_timer(id))
            val |= kLrHw | (static_cast<u64>(id) << kLrPintidShift);
        else if (lvl)
            val |= kLrEoi;
        p.lr[i] = val;
        p.dirty |= 1u << i;
        p.consumed |= bit;
    }
}

} // namespace keel::arm64
