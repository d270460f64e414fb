// The translation tables an SMMUv3 stage-1 context walks for a device's DMA: VMSAv8-64
// stage-1 descriptors of the EL1&0 regime, 4 KiB granule (ARM ARM D8.3; SMMUv3 IHI 0070
// §3.4 uses the same formats), as a Format policy for mm::PageTable. 3 levels from level 1:
// 39-bit IOVA (CD.T0SZ = 25). The IOVA of a VM's VF is the guest's IPA, so this covers the
// same input space as the VM's stage-2 (arch/arm64/stage2_format.hpp).
//
//   AttrIndx[4:2]  MAIR index from the CD's MAIR: 0 Device-nGnRE, 1 Normal WB (kMair)
//   AP[7:6]        AP[1] = 1: unprivileged access (a PCIe request without PASID is
//                  unprivileged); AP[2] = 1 read-only
//   SH[9:8]        0b11 inner shareable (normal memory)
//   AF[10]         set: no Access flag faults
//   nG[11]         set: TLB entries are tagged with the stream's ASID
//   PXN[53] UXN[54] set: devices fetch no instructions
#pragma once

#include "hypervisor/mm/vmsa_walk.hpp"

namespace keel::iommu {

struct SmmuS1Format : mm::VmsaWalk {
    using Input = IoVirt;

    static constexpr u64 kAttrNormal = 1ull << 2; // AttrIndx = 1
    static constexpr u64 kApUnpriv = 1ull << 6;   // AP[1]
    static constexpr u64 kApReadOnly = 1ull << 7; // AP[2]
    static constexpr u64 kShInner = 3ull << 8;
    static constexpr u64 kAccessFlag = 1ull << 10;
    static constexpr u64 kNotGlobal = 1ull << 11;
    static constexpr u64 kXn = 3ull << 53; // PXN, UXN
    // MAIR: Attr0 = 0x04 Device-nGnRE, Attr1 = 0xff Normal inner/outer WB RW-allocate.
    static constexpr u64 kMair = 0x04ull | (0xffull << 8);

    static constexpr u64 make_leaf(PhysAddr pa, mm::Attrs a, int level) {
        u64 e = (pa.raw() & kAddrMask) | kValid | kAccessFlag | kNotGlobal | kApUnpriv | kXn;
        if (level == 3) e |= kTableOrPage;
        if (!a.device) e |= kAttrNormal | kShInner;
        if (!a.write) e |= kApReadOnly;
        return e;
    }
    static constexpr mm::Attrs leaf_attrs(u64 e) {
        return mm::Attrs{true, (e & kApReadOnly) == 0, false, (e & kAttrNormal) == 0};
    }
};

static_assert(SmmuS1Format::make_leaf(PhysAddr(0x48000000), mm::Attrs{true, true, false, false},
                                      3) == (0x0060000048000000ull | 0xf47ull),
              "DMA page RW normal: valid, page, AttrIndx 1, AP[1], SH inner, AF, nG, PXN/UXN");

} // namespace keel::iommu
