#include "hypervisor/io/sriov_boot.hpp"

#include "hypervisor/io/io_region.hpp"
#include "hypervisor/io/iommu_boot.hpp"
#include "hypervisor/io/vf_dma_check.hpp"
#include "hypervisor/io/vm_vfs.hpp"

#include <arch/mailbox.hpp>

#include "drivers/pci/claims.hpp"
#include "drivers/sriov/nvme_pf.hpp"
#include "hypervisor/io/tick_clock.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm_manager.hpp"

namespace keel {
namespace {

using ull = unsigned long long;
constexpr u32 kClassNvme = 0x010802; // class 01 (storage), subclass 08 (NVM), prog-if 02
constexpr u32 kCfgClass = 0x08;      // revision [7:0], class code [31:8]
constexpr u32 kMaxPfs = 4;

// The PF admin queues' memory: the I/O region's (io_region.hpp) when there is one, else
// inside the image; identity mapped either way, so the address the device is given is the
// physical one. Never the partition pool.
alignas(mm::kPageSize) PfQueuePages g_own_pf_dma;
sriov::VfTable g_vfs;

nvme::DmaBuffer buffer(u8* page) {
    return nvme::DmaBuffer{page, reinterpret_cast<u64>(page), 4096};
}

Status place(const BootInfo& info, const Platform& p, pci::Bar (&bars)[6], u16 vfs) {
    MemRange busy[pci::kBusyMax];
    pci::Window windows[4];
    pci::PlaceConstraints c;
    c.windows = windows;
    c.window_count = arch::pci_windows(info, windows, 4);
    c.busy = busy;
    c.busy_count = pci::busy_ranges(p, busy, pci::kBusyMax);
    c.addr_limit = arch::mailbox_addr_limit();
    if (c.window_count == 0) return Status::NotFound; // ACPI boots: no windows known
    KEEL_TRY(vfs == 0 ? pci::place_bars(bars, c) : sriov::place_vf_bars(bars, vfs, c));
    u64 slots = 1;
    while (slots < vfs)
        slots <<= 1;
    for (const pci::Bar& b : bars)
        if (b.present && !b.io && !pci::bar_claims().add(b.addr, b.size * slots))
            return Status::NoMemory;
    return Status::Ok;
}

// One PF: NumVFs = TotalVFs (or keel.sriov_vfs=N if smaller), VF BARs placed, VFs on,
// then provisioning through its admin queue.
Status bring_up_pf(const BootInfo& info, const Platform& p, pci::ConfigAccess& cfg, pci::Bdf pf,
                   u16 want_vfs) {
    Result<sriov::Capability> rc = sriov::read_capability(cfg, pf);
    if (!rc.ok()) return rc.status();
    sriov::Capability cap = rc.value();
    pci::Bar pf_bars[6];
    const u32 cmd = cfg.read32(pf, pci::kCfgCommand) & 0xffff;
    KEEL_TRY(pci::size_bars(cfg, pf, pf_bars));
    if (!pf_bars[0].present || pf_bars[0].size < 0x2000) return Status::Unsupported;
    if (const Status s = place(info, p, pf_bars, 0); s != Status::Ok) {
        kprint("sriov: PF %02x:%02x.%x: %s\n", pf.bus, pf.dev, pf.fn,
               s == Status::NotFound
                   ? "no PCIe bridge windows known (an ACPI boot): VFs not enabled"
                   : "no room for its BARs: VFs not enabled");
        cfg.write32(pf, pci::kCfgCommand, cmd); // decoding as the firmware left it
        return Status::Ok;                      // said why
    }
    pci::program_bars(cfg, pf, pf_bars);
    const u16 n = want_vfs != 0 && want_vfs < cap.total_vfs ? want_vfs : cap.total_vfs;
    KEEL_TRY(sriov::set_num_vfs(cfg, pf, cap, n, false)); // root bus: no ARI forwarding above
    pci::Bar vf_bars[6];
    KEEL_TRY(sriov::size_vf_bars(cfg, pf, cap, vf_bars));
    KEEL_TRY(place(info, p, vf_bars, n));
    KEEL_TRY(sriov::enable_vfs(cfg, pf, cap, vf_bars));
    kprint("sriov: PF %02x:%02x.%x: TotalVFs %u, NumVFs %u, VF offset %u stride %u, VF device "
           "%#x, VFs enabled (capability at %#x)\n",
           pf.bus, pf.dev, pf.fn, cap.total_vfs, cap.num_vfs, cap.first_offset, cap.stride,
           cap.vf_device, cap.offset);
    for (const pci::Bar& b : vf_bars)
        if (b.present)
            kprint("sriov: VF BAR%u: %llu KiB per VF, %u VFs from %#llx\n", b.index,
                   static_cast<ull>(b.size / KiB), cap.num_vfs, static_cast<ull>(b.addr));
    const u32 first = g_vfs.count();
    KEEL_TRY(g_vfs.add_pf(pf, cap, vf_bars, p.pci_bus_start));
    // The PF's admin queue: registers mapped for Keel, bus mastering on for its DMA, and
    // behind an IOMMU the PF's stream reaches its three queue pages and nothing else.
    KEEL_TRY(arch::mailbox_map_device(pf_bars[0].addr, pf_bars[0].size));
    PfQueuePages& dma = io_region() != nullptr ? io_region()->pf : g_own_pf_dma;
    if (iommu_ready()) {
        const u64 at = reinterpret_cast<u64>(&dma);
        const iommu::DmaMap pf_map{IoVirt(at), PhysAddr(at), sizeof dma, true};
        const Status a = iommu_attach(p, pf, &pf_map, 1);
        if (a != Status::Ok && a != Status::AlreadyExists) return a;
        kprint("%s: PF %02x:%02x.%x stream %#x: its admin queue pages only (%#llx, %llu KiB)\n",
               iommu_prefix(), pf.bus, pf.dev, pf.fn, iommu_stream(p, pf).value_or(0),
               static_cast<ull>(at), static_cast<ull>(sizeof dma / KiB));
    }
    cfg.write32(pf, pci::kCfgCommand,
                (cfg.read32(pf, pci::kCfgCommand) & 0xffff) | pci::kCmdMemory | pci::kCmdBusMaster);
    TickClock clock;
    nvme::AdminQueue q;
    Status s = q.enable(reinterpret_cast<volatile u8*>(pf_bars[0].addr), buffer(dma.sq),
                        buffer(dma.cq), clock);
    if (s == Status::Ok)
        s = nvme::provision_pf(q, buffer(dma.scratch), pf, g_vfs, nvme::ProvisionPlan{});
    else
        kprint("nvme: PF %02x:%02x.%x admin queue: %s\n", pf.bus, pf.dev, pf.fn, status_name(s));
    // The PF stays enabled: its secondaries go offline with it (NVMe §8.26.3).
    for (u32 i = first; i < g_vfs.count(); ++i) {
        const sriov::Vf& v = g_vfs.at(i);
        // The VF as found at its routing ID, and its BAR0 decoding: the NVMe version
        // register read through the VF's own copy of the BAR.
        const u32 id = cfg.read32(v.bdf, pci::kCfgId);
        const u32 cls = cfg.read32(v.bdf, kCfgClass) >> 8;
        // A VF's Memory Space Enable is reserved (VF MSE in the PF decodes, PCIe §9.3.4.1.3)
        // but QEMU 7.2 maps a VF's BARs only with it set; writing it is harmless elsewhere.
        // Bus mastering stays off until the VF is assigned.
        cfg.write32(v.bdf, pci::kCfgCommand, pci::kCmdMemory);
        u32 vs = 0xffffffffu;
        if (v.bar[0] != 0 && arch::mailbox_map_device(v.bar[0], v.bar_size[0]) == Status::Ok)
            vs = *reinterpret_cast<volatile u32*>(v.bar[0] + nvme::kRegVs);
        kprint("sriov: VF %02x:%02x.%x id %08x class %06x stream %#x BAR0 %#llx (NVMe %u.%u) "
               "controller %u %s\n",
               v.bdf.bus, v.bdf.dev, v.bdf.fn, id, cls, pci::routing_id(v.bdf),
               static_cast<ull>(v.bar[0]), vs >> 16, (vs >> 8) & 0xff, v.controller,
               v.provisioned ? "provisioned" : "NOT provisioned");
    }
    return s;
}

// keel.sriov_vfs=N (1..65535, decimal only): at most N VFs per PF; 0 (every VF the PF has)
// when absent or malformed, which the console's NumVFs line then shows.
u16 wanted_vfs(const Cmdline& cmdline) {
    u64 n = 0;
    return cmdline.number("keel.sriov_vfs", 1, 0xffff, &n) ? static_cast<u16>(n) : 0;
}

} // namespace

sriov::VfTable& vf_table() { return g_vfs; }

u32 sriov_bring_up(const BootInfo& info, const Platform& p, const Cmdline& cmdline,
                   bool outlive_image) {
    if (p.ecam_base == 0 || p.ecam_size < MiB) return 0;
    if (arch::mailbox_map_device(p.ecam_base, MiB) != Status::Ok) return 0;
    // The IOMMU first: from here on no PCIe function reaches memory unless attached.
    if (p.smmu_count != 0 || p.vtd_count != 0) {
        if (outlive_image) (void)io_region_reserve(); // says why if none
        (void)iommu_bring_up(p);                      // says why if unused
    }
    pci::EcamAccess ecam(p.ecam_base, p.pci_bus_start, 1); // the root bus, as the mailbox
    // What firmware placed stays where it is: Keel's placements keep clear of it.
    const Result<u32> fw =
        pci::claim_decoding_bars(ecam, pci::bar_claims(), static_cast<u8>(p.pci_bus_start));
    if (!fw.ok()) {
        // A placement could land on a BAR not claimed: place nothing.
        kprint("pci: the BARs firmware left decoding could not all be recorded (%s): SR-IOV "
               "not brought up\n",
               status_name(fw.status()));
        return 0;
    }
    if (fw.value() != 0) kprint("pci: %u ranges firmware left decoding claimed\n", fw.value());
    u32 pfs = 0;
    (void)pci::for_each_function(ecam, static_cast<u8>(p.pci_bus_start), [&](pci::Bdf f) {
        if ((ecam.read32(f, kCfgClass) >> 8) == kClassNvme &&
            sriov::find_ext_cap(ecam, f, sriov::kExtCapIdSriov).ok()) {
            ++pfs;
            const Status s = bring_up_pf(info, p, ecam, f, wanted_vfs(cmdline));
            if (s != Status::Ok)
                kprint("sriov: PF %02x:%02x.%x: %s\n", f.bus, f.dev, f.fn, status_name(s));
        }
        return pfs < kMaxPfs;
    });
    if (cmdline.value_is("keel.test", "vf_dma")) vf_dma_check(p, ecam, g_vfs);
    // From here on VMs may be given VFs (keel.vm= vf:, the mailbox's ATTACH_VF).
    vm_manager().set_devices(vm_vfs(p, g_vfs));
    return g_vfs.count();
}

} // namespace keel
