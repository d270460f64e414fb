#include "drivers/sriov/vf_assign.hpp"

namespace keel::sriov {
namespace {

VfError from_status(Status s) {
    switch (s) {
    case Status::Ok: return VfError::None;
    case Status::NotFound: return VfError::UnknownBdf;
    case Status::Unsupported: return VfError::IsPf;
    case Status::BadState: return VfError::NotProvisioned;
    case Status::Busy: return VfError::OwnedByOther;
    case Status::AlreadyExists: return VfError::AlreadyOwned;
    case Status::NoMemory:
    case Status::OutOfRange: return VfError::NoRoom;
    default: return VfError::Hardware;
    }
}

Status refuse(VfError e, VfError* why, Status s) {
    if (why != nullptr) *why = e;
    return s;
}

} // namespace

const char* vf_error_text(VfError e) {
    switch (e) {
    case VfError::None: return "ok";
    case VfError::UnknownBdf: return "no VF at that address";
    case VfError::IsPf: return "a physical function is never assignable";
    case VfError::NotProvisioned: return "VF not provisioned by Keel";
    case VfError::OwnedByOther: return "VF owned by another VM";
    case VfError::AlreadyOwned: return "VF already owned by this VM";
    case VfError::NotOwned: return "VF not owned by this VM";
    case VfError::VmState: return "VM not created, or stopping or stopped";
    case VfError::NoIommu: return "no IOMMU translates the VF";
    case VfError::NoRoom: return "no room for another assigned VF";
    case VfError::Hardware: return "the IOMMU did not complete";
    case VfError::Unsupported: return "VF assignment not built on this arch";
    }
    return "?";
}

Status VfAssigner::attach(u32 vm, const VmMemory& mem, pci::Bdf f, VfError* why,
                          const iommu::DmaMap* extra) {
    if (why != nullptr) *why = VfError::None;
    if (mem.size == 0) return refuse(VfError::VmState, why, Status::BadState);
    if (extra != nullptr && extra->iova.raw() < mem.ipa + mem.size &&
        mem.ipa < extra->iova.raw() + extra->size)
        return refuse(VfError::NoRoom, why, Status::InvalidArgument);
    const Status owned = vfs_.assign(f, vm);
    if (owned != Status::Ok) return refuse(from_status(owned), why, owned);
    Vf* v = vfs_.find(f);
    const iommu::DmaMap maps[2] = {{IoVirt(mem.ipa), mem.pa, mem.size, true},
                                   extra != nullptr ? *extra : iommu::DmaMap{}};
    const Status s = dma_.attach(f, maps, extra != nullptr ? 2 : 1);
    if (s != Status::Ok) {
        (void)vfs_.release(f, vm);
        const VfError e =
            s == Status::NotFound || s == Status::BadState ? VfError::NoIommu : from_status(s);
        return refuse(e, why, s);
    }
    // Memory decoding stays as boot left it; the VF may now master its VM's memory.
    cfg_.write32(v->bdf, pci::kCfgCommand, pci::kCmdMemory | pci::kCmdBusMaster);
    return Status::Ok;
}

Status VfAssigner::take_back(Vf& v) {
    // function_level_reset turns bus mastering off first and waits out what is pending.
    const Status flr = pci::function_level_reset(cfg_, v.bdf, wait_);
    // QEMU 7.2 decodes a VF's BARs only with its own Memory bit (docs/sriov.md); the
    // reset cleared it, bus mastering stays off.
    cfg_.write32(v.bdf, pci::kCfgCommand, pci::kCmdMemory);
    // Whatever the reset did, the stream aborts from here on: a device that keeps
    // retrying DMA after its reset reaches nothing.
    KEEL_TRY(dma_.quarantine(v.bdf));
    v.owner = kNoOwner;
    // A VF that could not be reset may still hold its last owner's state (queues,
    // registers): it is never given to anyone again.
    if (flr != Status::Ok) v.provisioned = false;
    return flr;
}

Status VfAssigner::detach(u32 vm, pci::Bdf f, VfError* why) {
    if (why != nullptr) *why = VfError::None;
    Vf* v = vfs_.find(f);
    if (v == nullptr)
        return vfs_.is_pf(f) ? refuse(VfError::IsPf, why, Status::Unsupported)
                             : refuse(VfError::UnknownBdf, why, Status::NotFound);
    if (vm == kNoOwner || v->owner != vm) return refuse(VfError::NotOwned, why, Status::BadState);
    const Status s = take_back(*v);
    if (v->owner != kNoOwner) return refuse(VfError::Hardware, why, s);
    return Status::Ok; // quarantined; one that could not be reset is retired (take_back)
}

u32 VfAssigner::detach_all(u32 vm) {
    u32 n = 0;
    for (u32 i = 0; vm != kNoOwner && i < vfs_.count(); ++i) {
        Vf* v = vfs_.find(vfs_.at(i).bdf);
        if (v->owner != vm) continue;
        (void)take_back(*v);
        ++n;
    }
    return n;
}

} // namespace keel::sriov
