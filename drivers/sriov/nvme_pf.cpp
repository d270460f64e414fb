#include "drivers/sriov/nvme_pf.hpp"

#include "hypervisor/print.hpp"

namespace keel::nvme {
namespace {

using ull = unsigned long long;

// Runs one command; Ok only for a successful completion. Prints what failed.
Status step(AdminQueue& q, const Sqe& cmd, const char* what, u16 cntlid, u32* dw0 = nullptr) {
    Result<Completion> r = q.run(cmd);
    if (!r.ok()) {
        kprint("nvme: %s (controller %u): %s\n", what, cntlid, status_name(r.status()));
        return r.status();
    }
    if (r.value().status != 0) {
        kprint("nvme: %s (controller %u): status sct %u sc %#x\n", what, cntlid,
               r.value().status >> 8, r.value().status & 0xff);
        return Status::HardwareFault;
    }
    if (dw0 != nullptr) *dw0 = r.value().dw0;
    return Status::Ok;
}

Status provision_vf(AdminQueue& q, DmaBuffer scratch, const SecondaryController& sc, sriov::Vf& vf,
                    const ProvisionPlan& plan) {
    u32 got = 0;
    // Offline first: resources can only be assigned to an offline secondary (§8.26.4).
    KEEL_TRY(step(q, virt_mgmt(kActSecondaryOffline, kResVq, sc.scid, 0), "offline", sc.scid));
    KEEL_TRY(step(q, virt_mgmt(kActSecondaryAssign, kResVq, sc.scid, plan.vq_per_vf), "assign VQ",
                  sc.scid, &got));
    if (got != plan.vq_per_vf) return Status::HardwareFault;
    KEEL_TRY(step(q, virt_mgmt(kActSecondaryAssign, kResVi, sc.scid, plan.vi_per_vf), "assign VI",
                  sc.scid, &got));
    if (got != plan.vi_per_vf) return Status::HardwareFault;
    KEEL_TRY(step(q, virt_mgmt(kActSecondaryOnline, kResVq, sc.scid, 0), "online", sc.scid));
    // Read the state back rather than trusting the completions.
    KEEL_TRY(step(q, identify(kCnsSecondaryList, sc.scid, 0, scratch.dma), "identify secondary",
                  sc.scid));
    SecondaryController now{};
    if (parse_secondary_list(scratch.cpu, scratch.size, &now, 1) != 1 || now.scid != sc.scid ||
        !now.online || now.nvq != plan.vq_per_vf || now.nvi != plan.vi_per_vf) {
        kprint("nvme: controller %u did not come online as asked\n", sc.scid);
        return Status::HardwareFault;
    }
    const u32 nsid = plan.first_nsid + vf.index;
    const u16 ids[1] = {sc.scid};
    if (!write_controller_list(scratch.cpu, scratch.size, ids, 1)) return Status::InvalidArgument;
    KEEL_TRY(step(q, ns_attachment(nsid, false, scratch.dma), "attach namespace", sc.scid));
    KEEL_TRY(step(q, identify(kCnsNsControllers, 0, nsid, scratch.dma), "identify ns controllers",
                  sc.scid));
    u16 attached[8] = {};
    const i32 n = read_controller_list(scratch.cpu, scratch.size, attached, 8);
    bool mine = false;
    for (i32 i = 0; i < n && i < 8; ++i)
        mine = mine || attached[i] == sc.scid;
    if (!mine) {
        kprint("nvme: namespace %u does not list controller %u after attach\n", nsid, sc.scid);
        return Status::HardwareFault;
    }
    kprint("nvme: VF %02x:%02x.%x secondary controller %u online (VQ %u, VI %u), namespace %u "
           "attached (%d controller%s)\n",
           vf.bdf.bus, vf.bdf.dev, vf.bdf.fn, sc.scid, now.nvq, now.nvi, nsid, n,
           n == 1 ? "" : "s");
    vf.controller = sc.scid;
    vf.provisioned = true;
    return Status::Ok;
}

} // namespace

Status provision_pf(AdminQueue& q, DmaBuffer scratch, pci::Bdf pf, sriov::VfTable& table,
                    const ProvisionPlan& plan) {
    if (scratch.size < 4096 || (scratch.dma & 0xfff) != 0) return Status::InvalidArgument;
    KEEL_TRY(step(q, identify(kCnsPrimaryCaps, 0, 0, scratch.dma), "identify primary", 0));
    const PrimaryCaps caps = parse_primary_caps(scratch.cpu);
    kprint("nvme: PF %02x:%02x.%x controller %u: flexible VQ %u (%u assigned, at most %u per "
           "secondary), VI %u (%u assigned, at most %u)\n",
           pf.bus, pf.dev, pf.fn, caps.cntlid, caps.vqfrt, caps.vqrfa, caps.vqfrsm, caps.vifrt,
           caps.virfa, caps.vifrsm);
    KEEL_TRY(step(q, identify(kCnsSecondaryList, 0, 0, scratch.dma), "identify secondaries", 0));
    SecondaryController sc[sriov::VfTable::kMax];
    const i32 n = parse_secondary_list(scratch.cpu, scratch.size, sc, sriov::VfTable::kMax);
    if (n <= 0) {
        kprint("nvme: PF lists no secondary controllers\n");
        return Status::NotFound;
    }
    u32 done = 0, vfs = 0;
    for (i32 i = 0; i < n; ++i) {
        if (sc[i].pcid != caps.cntlid || sc[i].vfn == 0) continue; // another primary's
        sriov::Vf* vf = table.by_index(pf, static_cast<u16>(sc[i].vfn - 1));
        if (vf == nullptr) continue; // its VF is not enabled
        ++vfs;
        if (provision_vf(q, scratch, sc[i], *vf, plan) == Status::Ok) {
            ++done;
        } else {
            // Half-provisioned is not provisioned: offline again, which also returns its
            // flexible resources to the PF (§8.26.4); the VF stays unassignable.
            (void)step(q, virt_mgmt(kActSecondaryOffline, kResVq, sc[i].scid, 0), "offline",
                       sc[i].scid); // a failure is printed; the VF is refused either way
        }
    }
    kprint("nvme: PF %02x:%02x.%x: %u of %u VFs provisioned\n", pf.bus, pf.dev, pf.fn, done, vfs);
    return Status::Ok;
}

} // namespace keel::nvme
