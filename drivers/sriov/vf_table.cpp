#include "drivers/sriov/vf_table.hpp"

namespace keel::sriov {
namespace {
bool same(pci::Bdf a, pci::Bdf b) { return a.bus == b.bus && a.dev == b.dev && a.fn == b.fn; }
} // namespace

Status VfTable::add_pf(pci::Bdf pf, const Capability& cap, const pci::Bar (&bars)[6],
                       u32 last_bus) {
    if (cap.num_vfs > kMax - count_) return Status::NoMemory;
    for (u16 i = 0; i < cap.num_vfs; ++i)
        if (!vf_bdf(pf, cap, i, last_bus).ok()) return Status::OutOfRange;
    for (u16 i = 0; i < cap.num_vfs; ++i) {
        Vf& v = vfs_[count_++];
        v = Vf{};
        v.bdf = vf_bdf(pf, cap, i, last_bus).value();
        v.pf = pf;
        v.index = i;
        for (const pci::Bar& b : bars) {
            if (!b.present) continue;
            v.bar[b.index] = vf_bar_addr(b, i);
            v.bar_size[b.index] = b.size;
        }
    }
    return Status::Ok;
}

Status VfTable::adopt(const Vf& v) {
    if (count_ == kMax) return Status::NoMemory;
    if (find(v.bdf) != nullptr) return Status::AlreadyExists;
    vfs_[count_++] = v;
    return Status::Ok;
}

Vf* VfTable::find(pci::Bdf f) {
    for (u32 i = 0; i < count_; ++i)
        if (same(vfs_[i].bdf, f)) return &vfs_[i];
    return nullptr;
}

Vf* VfTable::by_index(pci::Bdf pf, u16 index) {
    for (u32 i = 0; i < count_; ++i)
        if (same(vfs_[i].pf, pf) && vfs_[i].index == index) return &vfs_[i];
    return nullptr;
}

bool VfTable::is_pf(pci::Bdf f) const {
    for (u32 i = 0; i < count_; ++i)
        if (same(vfs_[i].pf, f)) return true;
    return false;
}

Status VfTable::assign(pci::Bdf f, u32 vm) {
    if (vm == kNoOwner) return Status::InvalidArgument;
    Vf* v = find(f);
    if (v == nullptr) return is_pf(f) ? Status::Unsupported : Status::NotFound;
    if (!v->provisioned) return Status::BadState;
    if (v->owner == vm) return Status::AlreadyExists;
    if (v->owner != kNoOwner) return Status::Busy;
    v->owner = vm;
    return Status::Ok;
}

Status VfTable::release(pci::Bdf f, u32 vm) {
    Vf* v = find(f);
    if (v == nullptr) return Status::NotFound;
    if (v->owner != vm || vm == kNoOwner) return Status::BadState;
    v->owner = kNoOwner;
    return Status::Ok;
}

} // namespace keel::sriov
