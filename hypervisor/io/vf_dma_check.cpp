#include "hypervisor/io/vf_dma_check.hpp"

#include <arch/mailbox.hpp>

#include "drivers/pci/flr.hpp"
#include "drivers/sriov/nvme_admin.hpp"
#include "hypervisor/io/iommu_boot.hpp"
#include "hypervisor/io/tick_clock.hpp"
#include "hypervisor/print.hpp"

namespace keel {
namespace {

using ull = unsigned long long;
// The VF's address space in the check: IOVA = the guest RAM base (where a VM's IPA space
// starts on arm64), onto three pages of the image standing in for the VM's memory.
constexpr u64 kIova = 0x40000000;

struct alignas(4096) VfPages {
    u8 sq[4096];
    u8 cq[4096];
    u8 data[4096];
};
VfPages g_vf_pages;
VfPages g_other_pages;
// Memory the VF must never reach: its physical address is used as the unmapped IOVA, so
// an IOMMU that let the transfer through untranslated would overwrite it.
struct alignas(4096) Canary {
    u8 bytes[4096];
};
Canary g_canary;
constexpr u8 kCanary = 0xa5;

void bus_master(pci::ConfigAccess& cfg, pci::Bdf f) {
    cfg.write32(f, pci::kCfgCommand, pci::kCmdMemory | pci::kCmdBusMaster);
}

const sriov::Vf* provisioned(sriov::VfTable& vfs, u32 skip) {
    for (u32 i = 0; i < vfs.count(); ++i)
        if (vfs.at(i).provisioned && skip-- == 0) return &vfs.at(i);
    return nullptr;
}

// Identify Controller through the VF; prints the outcome, returns the NVMe status (or
// 0xffff when the command never completed).
u16 identify(nvme::AdminQueue& q, u64 prp, const char* what) {
    Result<nvme::Completion> r = q.run(nvme::identify(nvme::kCnsController, 0, 0, prp));
    if (!r.ok()) {
        kprint("vf-dma: identify, %s, iova %#llx: %s\n", what, static_cast<ull>(prp),
               status_name(r.status()));
        return 0xffff;
    }
    kprint("vf-dma: identify, %s, iova %#llx: status sct %u sc %#x\n", what, static_cast<ull>(prp),
           r.value().status >> 8, r.value().status & 0xff);
    return r.value().status;
}

} // namespace

void vf_dma_check(const Platform& p, pci::ConfigAccess& cfg, sriov::VfTable& vfs) {
    const sriov::Vf* vf = provisioned(vfs, 0);
    if (!iommu_ready() || vf == nullptr) {
        kprint("vf-dma: FAILED: needs an IOMMU and a provisioned VF\n");
        return;
    }
    const iommu::DmaMap map{IoVirt(kIova), PhysAddr(reinterpret_cast<u64>(&g_vf_pages)),
                            sizeof g_vf_pages, true};
    Status s = iommu_attach(p, vf->bdf, &map, 1);
    kprint("vf-dma: VF %02x:%02x.%x stream %#x attached: iova %#llx -> %#llx (%llu KiB): %s\n",
           vf->bdf.bus, vf->bdf.dev, vf->bdf.fn, iommu_stream(p, vf->bdf).value_or(0),
           static_cast<ull>(kIova), static_cast<ull>(map.pa.raw()),
           static_cast<ull>(map.size / KiB), status_name(s));
    if (s != Status::Ok) return;
    bus_master(cfg, vf->bdf);
    TickClock clock;
    nvme::AdminQueue q;
    auto* regs = reinterpret_cast<volatile u8*>(vf->bar[0]);
    s = q.enable(regs, nvme::DmaBuffer{g_vf_pages.sq, kIova, 4096},
                 nvme::DmaBuffer{g_vf_pages.cq, kIova + 4096, 4096}, clock);
    kprint("vf-dma: VF admin queue at iova %#llx: %s\n", static_cast<ull>(kIova), status_name(s));
    if (s == Status::Ok) {
        for (u8& b : g_vf_pages.data)
            b = 0;
        if (identify(q, kIova + 8192, "mapped") == 0) {
            // Identify Controller: CNTLID at bytes 78-79, model number at 24-63.
            char model[41] = {};
            for (u32 i = 0; i < 40; ++i)
                model[i] = static_cast<char>(g_vf_pages.data[24 + i]);
            kprint("vf-dma: data arrived through the %s: controller id %u, model \"%s\"\n",
                   iommu_label(), g_vf_pages.data[78] | (g_vf_pages.data[79] << 8), model);
        }
        for (u8& b : g_canary.bytes)
            b = kCanary;
        const u64 unmapped = reinterpret_cast<u64>(&g_canary);
        (void)identify(q, unmapped, "unmapped"); // the fault is the point
        // The controller stays enabled: the FLR at detach must be what resets it.
        u32 changed = 0;
        for (const u8 b : g_canary.bytes)
            changed += b != kCanary;
        kprint("vf-dma: memory at pa %#llx (the unmapped iova) %s\n", static_cast<ull>(unmapped),
               changed == 0 ? "unchanged" : "OVERWRITTEN: FAILED");
    }
    const u32 events = iommu_report_events();
    kprint("vf-dma: %u event%s after the unmapped transfer\n", events, events == 1 ? "" : "s");

    // A provisioned VF Keel never attached: its stream's STE is invalid.
    if (const sriov::Vf* other = provisioned(vfs, 1)) {
        bus_master(cfg, other->bdf);
        const u64 pa = reinterpret_cast<u64>(&g_other_pages);
        nvme::AdminQueue q2;
        s = q2.enable(reinterpret_cast<volatile u8*>(other->bar[0]),
                      nvme::DmaBuffer{g_other_pages.sq, pa, 4096},
                      nvme::DmaBuffer{g_other_pages.cq, pa + 4096, 4096}, clock, 100 * 1000);
        if (s == Status::Ok) (void)identify(q2, pa + 8192, "unattached VF");
        (void)q2.disable();
        cfg.write32(other->bdf, pci::kCfgCommand, pci::kCmdMemory); // bus mastering off again
        const u32 more = iommu_report_events();
        kprint("vf-dma: VF %02x:%02x.%x (not attached): %u event%s\n", other->bdf.bus,
               other->bdf.dev, other->bdf.fn, more, more == 1 ? "" : "s");
    }
    // Leaving its owner: FLR (bus mastering off, reset), then the stream back to abort.
    auto reg = [&](u32 off) { return *reinterpret_cast<volatile u32*>(vf->bar[0] + off); };
    const u32 cmd_before = cfg.read32(vf->bdf, pci::kCfgCommand) & 0xffff;
    const u32 rdy_before = reg(nvme::kRegCsts) & 1;
    TickWaiter waiter;
    s = pci::function_level_reset(cfg, vf->bdf, waiter);
    const u32 cmd_after = cfg.read32(vf->bdf, pci::kCfgCommand) & 0xffff;
    cfg.write32(vf->bdf, pci::kCfgCommand, pci::kCmdMemory); // QEMU 7.2: VF BAR decode
    kprint("vf-dma: VF %02x:%02x.%x FLR: %s, command %#x -> %#x, controller CSTS.RDY %u -> %u\n",
           vf->bdf.bus, vf->bdf.dev, vf->bdf.fn, status_name(s), cmd_before, cmd_after, rdy_before,
           reg(nvme::kRegCsts) & 1);
    s = iommu_detach(p, vf->bdf);
    kprint("vf-dma: VF %02x:%02x.%x detached: %s, the hypervisor continues\n", vf->bdf.bus,
           vf->bdf.dev, vf->bdf.fn, status_name(s));
}

} // namespace keel
