#include "hypervisor/io/vm_vfs.hpp"

#include <arch/vm.hpp>

#include "drivers/sriov/guest_bus.hpp"
#include "drivers/sriov/vf_assign.hpp"
#include "drivers/sriov/vf_config.hpp"
#include "hypervisor/io/iommu_boot.hpp"
#include "hypervisor/io/tick_clock.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/spinlock.hpp"
#include "hypervisor/vm/vm.hpp"
#include "hypervisor/vm/vm_manager.hpp"

namespace keel {
namespace {

using ull = unsigned long long;
constexpr u64 kSlot = MiB; // one VF's BARs in the guest window, behind one root port
static_assert(arch::kGuestPciWindowSize % kSlot == 0);
constexpr u32 kSlots = static_cast<u32>(arch::kGuestPciWindowSize / kSlot);
static_assert(kSlots == sriov::GuestBus::kSlots);

pci::Bdf bdf_of(u16 rid) {
    return pci::Bdf{static_cast<u8>(rid >> 8), static_cast<u8>((rid >> 3) & 31),
                    static_cast<u8>(rid & 7)};
}

class SmmuIsolation final : public sriov::DmaIsolation {
public:
    explicit SmmuIsolation(const Platform& p) : p_(p) {}
    Status attach(pci::Bdf f, const iommu::DmaMap* maps, u32 count) override {
        return iommu_attach(p_, f, maps, count);
    }
    Status quarantine(pci::Bdf f) override {
        // An invalid STE aborts every transaction of the stream; detach writes it, then
        // CFGI_STE + TLBI_NH_ASID + CMD_SYNC, and frees the tables only after the sync.
        const Status s = iommu_detach(p_, f);
        return s == Status::NotFound ? Status::Ok : s; // never attached: aborts already
    }

private:
    const Platform& p_;
};

VfEventSink* g_events = nullptr;

class VmVfs final : public VmDevices, public IommuEventRuns, public GuestPci {
public:
    VmVfs(const Platform& p, sriov::VfTable& vfs)
        : vfs_(vfs), ecam_(p.ecam_base, p.pci_bus_start, 1), dma_(p), p_(p),
          assigner_(vfs, ecam_, dma_, waiter_) {}

    GuestPci* vm_adopted(Vm&) override { return arch::kAssignsVfs ? this : nullptr; }
    [[nodiscard]] sriov::VfViewState view(u32 i) const { return views_[i].state(); }
    void bus_record(u32 vm_id, update::VmPciRecord& r) {
        LockGuard g(lock_);
        const sriov::GuestBus& b = buses_[(vm_id - 1) % Vm::kMaxVms];
        r = update::VmPciRecord{};
        r.vm_id = vm_id;
        r.flags = empty_told_[(vm_id - 1) % Vm::kMaxVms] ? 1 : 0;
        r.window = b.window();
        r.slot_size = b.slot_size();
        for (u32 k = 0; k < sriov::GuestBus::kSlots; ++k)
            r.ports[k] = b.port(k).state();
    }
    // The views (the table adopted in record order) and each VM's hierarchy, as recorded.
    void adopt(const update::HandoverView& v) {
        LockGuard g(lock_);
        for (u32 i = 0; i < v.vf_count && i < sriov::VfTable::kMax; ++i)
            views_[i].restore(v.vfs[i]->view);
        for (u32 i = 0; i < v.vm_count; ++i) {
            const update::VmPciRecord* r = v.vm_pci[i];
            if (r == nullptr) continue;
            const u32 slot = (r->vm_id - 1) % Vm::kMaxVms;
            buses_[slot].restore(r->window, r->slot_size, r->ports);
            empty_told_[slot] = (r->flags & 1) != 0;
        }
    }

    GuestPci* vm_created(Vm& vm) override {
        if (!arch::kAssignsVfs) return nullptr; // no guest PCI view on this arch yet
        LockGuard g(lock_);
        bus(vm).reset(static_cast<u32>(arch::kGuestPciWindow.raw()), static_cast<u32>(kSlot));
        empty_told_[(vm.id - 1) % Vm::kMaxVms] = false;
        return this;
    }

    Status attach(Vm& vm, u16 rid, u32* why) override {
        const pci::Bdf f = bdf_of(rid);
        if (!arch::kAssignsVfs) { // before any IOMMU domain, MSI route or BAR is touched
            *why = static_cast<u32>(sriov::VfError::Unsupported);
            kprint("vm %u: VF %02x:%02x.%x refused: %s\n", vm.id, f.bus, f.dev, f.fn,
                   sriov::vf_error_text(sriov::VfError::Unsupported));
            return Status::Unsupported;
        }
        const u64 ipa = free_slot(vm.id);
        sriov::VfError e = sriov::VfError::None;
        Status s = ipa == 0 ? Status::NoMemory : Status::Ok;
        sriov::Vf* v = vfs_.find(f);
        // MSIs first (only for a VF that is free to take: the ITS mapping of a VF another
        // VM owns is never touched), so the doorbell page is in the VF's first context.
        const bool free_vf = v != nullptr && v->provisioned && v->owner == sriov::kNoOwner;
        const sriov::VfIdentity id = free_vf ? identity(*v) : sriov::VfIdentity{};
        Msi msi;
        if (s == Status::Ok && free_vf && id.msix) msi = map_msi(vm.id, f, id);
        if (s == Status::Ok) {
            const sriov::VmMemory mem{vm.ram_ipa().raw(), vm.mem_base, vm.mem_size};
            const iommu::DmaMap bell{IoVirt(align_down(msi.doorbell, 4096)),
                                     PhysAddr(align_down(msi.doorbell, 4096)), 4096, true};
            const bool bell_mapped = msi.vectors != 0 && arch::kMsiDoorbellInDmaMap;
            s = assigner_.attach(vm.id, mem, f, &e, bell_mapped ? &bell : nullptr);
        } else {
            e = refusal_before_slot(f, vm.id);
        }
        if (s == Status::Ok) {
            sriov::VfConfigView& view = views_[index_of(*v)];
            view.reset(id, static_cast<u32>(ipa), static_cast<u32>(v->bar_size[0]));
            s = map_bar0(vm, *v, view, ipa);
            if (s != Status::Ok) {
                arch::vm_unmap_device(vm, GuestPhys(ipa), v->bar_size[0]);
                (void)assigner_.detach(vm.id, f, nullptr);
                e = sriov::VfError::NoRoom;
            } else {
                v->guest_bar0 = ipa;
                arm_msix(*v, id, msi);
                plug(vm, ipa, true);
            }
        }
        if (s != Status::Ok && msi.vectors != 0) arch::msi_unmap(msi.device);
        *why = static_cast<u32>(e);
        if (s != Status::Ok) {
            kprint("vm %u: VF %02x:%02x.%x refused: %s\n", vm.id, f.bus, f.dev, f.fn,
                   sriov::vf_error_text(e));
            return s;
        }
        kprint("vm %u: VF %02x:%02x.%x attached: stream %#x iova %#llx -> %#llx (%llu MiB), "
               "BAR0 at ipa %#llx\n",
               vm.id, f.bus, f.dev, f.fn, iommu_stream(p_, f).value_or(0),
               static_cast<ull>(vm.ram_ipa().raw()), static_cast<ull>(vm.mem_base.raw()),
               static_cast<ull>(vm.mem_size / MiB), static_cast<ull>(ipa));
        return Status::Ok;
    }

    Status detach(Vm& vm, u16 rid, u32* why) override {
        const pci::Bdf f = bdf_of(rid);
        sriov::Vf* v = vfs_.find(f);
        const u64 bar_ipa = v != nullptr && v->owner == vm.id ? v->guest_bar0 : 0;
        // Surprise removal: the slot says the card is gone before anything else happens; the
        // reset and quarantine below do not wait for the guest.
        if (bar_ipa != 0) plug(vm, bar_ipa, false);
        if (bar_ipa != 0) device_msix(vm.id, *v);
        sriov::VfError e = sriov::VfError::None;
        const Status s = assigner_.detach(vm.id, f, &e);
        *why = static_cast<u32>(e);
        if (s != Status::Ok && e != sriov::VfError::Hardware) {
            kprint("vm %u: VF %02x:%02x.%x detach refused: %s\n", vm.id, f.bus, f.dev, f.fn,
                   sriov::vf_error_text(e));
            return s;
        }
        unmap(vm, *v, bar_ipa);
        report(vm.id, *v, s);
        release_msi(*v);
        return s;
    }

    // The guest's ECAM (sriov::GuestBus): root port k (window slot k) is 00:(k+1).0, and the
    // VF in its slot, while the slot reports it present, device 0 function 0 of the port's
    // secondary bus.
    u32 config_read(const Vm& vm, u32 off, u32 size) override {
        LockGuard g(lock_);
        const u32 ones = size >= 4 ? ~0u : (1u << (8 * size)) - 1;
        const sriov::GuestBus::Target t = bus(vm).route(off);
        if (t.kind == sriov::GuestBus::Target::Kind::Port)
            return bus(vm).port(t.slot).read(off & 0xfff, size);
        const sriov::VfConfigView* view = card(vm, t);
        return view != nullptr ? view->read(off & 0xfff, size) : ones;
    }
    void config_write(Vm& vm, u32 off, u32 size, u32 value) override {
        LockGuard g(lock_);
        sriov::MsiMessage msg;
        const sriov::GuestBus::Target t = bus(vm).route(off);
        if (t.kind == sriov::GuestBus::Target::Kind::Port) {
            if (bus(vm).port(t.slot).write(off & 0xfff, size, value, &msg)) send(vm, msg);
        } else if (sriov::VfConfigView* view = card(vm, t)) {
            view->write(off & 0xfff, size, value); // MSI-X Enable or Function Mask, perhaps
            send_unmasked(vm, *vfs_.find(vfs_.at(static_cast<u32>(view - views_)).bdf), *view);
        }
    }

    bool bar_access(Vm& vm, u64 ipa, u32 size, bool write, u64* value) override {
        LockGuard g(lock_);
        const u64 slot = align_down(ipa, kSlot);
        for (u32 i = 0; i < vfs_.count(); ++i) {
            sriov::Vf& v = *vfs_.find(vfs_.at(i).bdf);
            if (v.owner != vm.id || v.guest_bar0 != slot || ipa - slot >= v.bar_size[0]) continue;
            u32 word = static_cast<u32>(*value);
            if (!views_[i].bar0_access(static_cast<u32>(ipa - slot), size, write, &word))
                break; // not the MSI-X table or PBA: mapped, or emptied by a removal
            *value = word;
            if (write) send_unmasked(vm, v, views_[i]);
            return true;
        }
        // Nothing answers here (no function, or one the slot just lost): all ones, as a
        // root port completes an Unsupported Request, so a guest survives a surprise removal.
        if (!write) *value = ~0ull;
        bool& told = empty_told_[(vm.id - 1) % Vm::kMaxVms];
        if (!told)
            kprint("vm %u: %s at ipa %#llx: no function there (first such access; reads all "
                   "ones, writes dropped)\n",
                   vm.id, write ? "write" : "read", static_cast<ull>(ipa));
        told = true;
        return true;
    }

    void vm_ending(Vm& vm) override {
        for (u32 i = 0; i < vfs_.count(); ++i) {
            sriov::Vf* v = vfs_.find(vfs_.at(i).bdf);
            if (v->owner != vm.id) continue;
            const u64 bar_ipa = v->guest_bar0;
            device_msix(vm.id, *v);
            const Status s = assigner_.detach(vm.id, v->bdf, nullptr);
            unmap(vm, *v, bar_ipa);
            report(vm.id, *v, s);
            release_msi(*v);
            if (g_events != nullptr) {
                char detail[40];
                format(detail, sizeof detail, "vf %02x:%02x.%x: reset, quarantined", v->bdf.bus,
                       v->bdf.dev, v->bdf.fn);
                g_events->vf_released(vm.id, detail);
            }
        }
    }

    Status vm_moved(Vm& vm) override {
        LockGuard g(lock_);
        for (u32 i = 0; i < vfs_.count(); ++i) {
            sriov::Vf& v = *vfs_.find(vfs_.at(i).bdf);
            if (v.owner != vm.id) continue;
            // Only RAM (no doorbell page: where the MSI doorbell is DMA, RAM never moves).
            if (arch::kMsiDoorbellInDmaMap && v.msi_vectors != 0) return Status::Unsupported;
            const iommu::DmaMap ram{IoVirt(vm.ram_ipa().raw()), vm.mem_base, vm.mem_size, true};
            KEEL_TRY(dma_.quarantine(v.bdf)); // the old translation gone, then the new one
            KEEL_TRY(dma_.attach(v.bdf, &ram, 1));
            KEEL_TRY(map_bar0(vm, v, views_[i], v.guest_bar0));
            kprint("vm %u: VF %02x:%02x.%x follows its RAM: iova %#llx -> %#llx, BAR0 at ipa "
                   "%#llx again\n",
                   vm.id, v.bdf.bus, v.bdf.dev, v.bdf.fn, static_cast<ull>(vm.ram_ipa().raw()),
                   static_cast<ull>(vm.mem_base.raw()), static_cast<ull>(v.guest_bar0));
        }
        return Status::Ok;
    }

    void poll() override {
        (void)iommu_report_events(this);
        // MSIs that arrived: to the owner's guest, if its view of that vector asks for it.
        for (u32 n = 0; n < 64; ++n) {
            const u32 token = arch::msi_next();
            if (token == 0) break;
            deliver(token);
        }
    }

    // One run of events from one stream: whose VF it is, charged to its owner.
    void run(u32 stream, u64 address, const char* what, u32 count) override {
        sriov::Vf* v = nullptr;
        for (u32 i = 0; i < vfs_.count() && v == nullptr; ++i)
            if (iommu_stream(p_, vfs_.at(i).bdf).value_or(~0u) == stream)
                v = vfs_.find(vfs_.at(i).bdf);
        if (v == nullptr) return; // the PF's stream or none of Keel's VFs: printed only
        v->dma_faults += count;
        const u32 owner = v->owner;
        kprint("%s: stream %#x is VF %02x:%02x.%x, %s %u: %u fault%s\n", iommu_prefix(), stream,
               v->bdf.bus, v->bdf.dev, v->bdf.fn, owner != 0 ? "owned by vm" : "owner", owner,
               count, count == 1 ? "" : "s");
        if (owner != 0) vm_manager().count_dma_fault(owner, count);
        if (g_events != nullptr) {
            char detail[40];
            format(detail, sizeof detail, "%s %02x:%02x.%x iova %#llx", what, v->bdf.bus,
                   v->bdf.dev, v->bdf.fn, static_cast<ull>(address));
            g_events->dma_fault(owner, detail);
        }
    }

private:
    struct Msi {
        u32 device = 0, vectors = 0, first = 0;
        u64 doorbell = 0;
    };
    // How the arch's MSI controller names the function (arch::msi_map): its requester ID, or
    // the ITS device ID the platform's route gives it; NotFound where it has none.
    Result<u32> msi_device(pci::Bdf f) const {
        const u32 rid = pci::routing_id(f);
        if (arch::kMsiDeviceIsRequesterId) return rid;
        const PciIdRange* r = p_.pci_route(rid);
        if (r == nullptr || !r->its_mapped) return Status::NotFound;
        return r->its_device_base + (rid - r->rid_base);
    }
    // The VF's MSI-X vectors (at most the view keeps) to the arch's MSI controller.
    Msi map_msi(u32 vm, pci::Bdf f, const sriov::VfIdentity& id) {
        Msi m;
        const Result<u32> device = msi_device(f);
        if (!device.ok()) return m;
        m.device = device.value();
        const u32 want = (id.msix_control & 0x7ffu) + 1;
        m.vectors =
            want < sriov::VfConfigView::kMsixEntries ? want : sriov::VfConfigView::kMsixEntries;
        const Status s = arch::msi_map(m.device, m.vectors, &m.doorbell, &m.first);
        if (s != Status::Ok) {
            kprint("vm %u: VF %02x:%02x.%x: no MSIs (%s)\n", vm, f.bus, f.dev, f.fn,
                   status_name(s));
            return Msi{};
        }
        return m;
    }
    // The device's own MSI-X table: each vector writes its event ID to the doorbell (the
    // only page besides the VM's RAM in the VF's SMMU context), MSI-X enabled.
    void arm_msix(sriov::Vf& v, const sriov::VfIdentity& id, const Msi& m) {
        v.msi_first = m.first;
        v.msi_vectors = m.vectors;
        if (m.vectors == 0) return;
        auto* t = reinterpret_cast<volatile u32*>(v.bar[0] + (id.msix_table & ~7u));
        for (u32 i = 0; i < m.vectors; ++i) {
            t[4 * i] = static_cast<u32>(m.doorbell);
            t[4 * i + 1] = static_cast<u32>(m.doorbell >> 32);
            t[4 * i + 2] = i;
            t[4 * i + 3] = 0; // unmasked
        }
        const Result<u32> cap = pci::find_cap(ecam_, v.bdf, 0x11);
        if (cap.ok())
            ecam_.write32(v.bdf, cap.value(),
                          (ecam_.read32(v.bdf, cap.value()) & ~(0x4000u << 16)) | (0x8000u << 16));
        kprint("vm %u: VF %02x:%02x.%x MSI-X: %u vector%s -> %s %#x, %s from %u, %s\n", v.owner,
               v.bdf.bus, v.bdf.dev, v.bdf.fn, m.vectors, m.vectors == 1 ? "" : "s",
               arch::kMsiDeviceName, m.device, arch::kMsiTokenName, m.first, arch::kGuestMsiTarget);
    }
    void release_msi(sriov::Vf& v) {
        if (v.msi_vectors == 0 || v.owner != sriov::kNoOwner) return;
        if (const Result<u32> device = msi_device(v.bdf); device.ok())
            arch::msi_unmap(device.value());
        v.msi_first = v.msi_vectors = 0;
    }
    // One MSI of a VF: the guest's own table entry decides (its Enable and Function Mask,
    // the vector's Mask, and an address that is its MSI frame's doorbell).
    void deliver(u32 token) {
        for (u32 i = 0; i < vfs_.count(); ++i) {
            sriov::Vf& v = *vfs_.find(vfs_.at(i).bdf);
            if (v.msi_vectors == 0 || token < v.msi_first || token - v.msi_first >= v.msi_vectors)
                continue;
            u32 spi = 0, owner = 0;
            using Arrival = sriov::VfConfigView::Arrival;
            Arrival a = Arrival::Dropped;
            { // the view, as its guest's vCPUs change it (bar_access, config_write)
                LockGuard g(lock_);
                owner = v.owner;
                if (owner != sriov::kNoOwner)
                    a = views_[i].msi_arrived(token - v.msi_first, arch::guest_msi, &spi);
                v.msi_delivered += a == Arrival::Deliver;
                v.msi_dropped += a == Arrival::Dropped;
            } // Pending: sent when the guest unmasks the vector (send_unmasked)
            if (a == Arrival::Deliver) vm_manager().raise_msi(owner, spi);
            return;
        }
    }
    sriov::GuestBus& bus(const Vm& vm) { return buses_[(vm.id - 1) % Vm::kMaxVms]; }
    static u64 slot_ipa(u32 k) { return arch::kGuestPciWindow.raw() + k * kSlot; }
    // The slot's card arrives (present) or leaves: a running guest is told through its root
    // port's MSI (Presence Detect Changed, Data Link Layer State Changed); a guest that has
    // not started finds it there (or not) from reset.
    void plug(Vm& vm, u64 bar_ipa, bool present) {
        LockGuard g(lock_);
        const u32 k = static_cast<u32>((bar_ipa - arch::kGuestPciWindow.raw()) / kSlot);
        const bool running = vm.state == VmState::Running;
        sriov::MsiMessage msg;
        if (bus(vm).plug(k, present, running, &msg)) send(vm, msg);
        kprint("vm %u: slot %u (root port 00:%02x.0, bus %u): card %s%s\n", vm.id, k + 1, k + 1,
               bus(vm).port(k).secondary_bus(), present ? "present" : "removed",
               running ? ", hot-plug event" : "");
    }
    // The messages a guest write unmasked (held while masked: the Pending Bits), to its frame.
    // Under lock_, on the VM's own vCPU: straight to its vGIC, not through the VM manager.
    static void send_unmasked(Vm& vm, sriov::Vf& v, sriov::VfConfigView& view) {
        u32 spis[8];
        const u32 n = view.take_unmasked(arch::guest_msi, spis);
        for (u32 k = 0; k < n; ++k)
            arch::vm_raise_msi(vm, spis[k]);
        v.msi_delivered += n;
    }
    // A root port's MSI: only what the guest's interrupt controller takes (arch::guest_msi).
    static void send(Vm& vm, const sriov::MsiMessage& msg) {
        u32 intid = 0;
        if (arch::guest_msi(msg.address, msg.data, &intid)) arch::vm_raise_msi(vm, intid);
    }
    u32 index_of(const sriov::Vf& v) const {
        for (u32 i = 0; i < vfs_.count(); ++i)
            if (&vfs_.at(i) == &v) return i;
        return 0;
    }
    // The view of the VF in the slot a config request reached (a card there, the VM's VF).
    sriov::VfConfigView* card(const Vm& vm, const sriov::GuestBus::Target& t) {
        if (t.kind != sriov::GuestBus::Target::Kind::Card) return nullptr;
        for (u32 i = 0; i < vfs_.count(); ++i)
            if (vfs_.at(i).owner == vm.id && vfs_.at(i).guest_bar0 == slot_ipa(t.slot))
                return &views_[i];
        return nullptr;
    }
    // BAR0 into the guest's stage 2 but for the pages holding the MSI-X table and PBA,
    // which stay unmapped and trap (bar_access): the guest never reaches the real ones.
    Status map_bar0(Vm& vm, const sriov::Vf& v, const sriov::VfConfigView& view, u64 ipa) {
        u32 start[2], size[2], n = 0;
        view.msix_ranges(start, size, &n);
        auto trapped = [&](u64 page) {
            for (u32 r = 0; r < n; ++r)
                if (page < start[r] + size[r] && page + 4096 > start[r]) return true;
            return false;
        };
        u64 run = 0;
        bool in_run = false;
        for (u64 at = 0; at <= v.bar_size[0]; at += 4096) {
            const bool map = at < v.bar_size[0] && !trapped(at);
            if (map && !in_run) run = at;
            if (!map && in_run)
                KEEL_TRY(arch::vm_map_device(vm, GuestPhys(ipa + run), PhysAddr(v.bar[0] + run),
                                             at - run));
            in_run = map;
        }
        return Status::Ok;
    }
    // The VF's own first MSI-X entry before its reset (Keel's EL2 mapping of the BAR): the
    // guest's writes went to its copy, so this still holds what the device was reset to.
    void device_msix(u32 vm, const sriov::Vf& v) {
        u32 start[2], size[2], n = 0;
        views_[index_of(v)].msix_ranges(start, size, &n);
        if (n == 0) return;
        const auto* e = reinterpret_cast<const volatile u32*>(v.bar[0] + start[0]);
        kprint("vm %u: VF %02x:%02x.%x MSI-X entry 0 in the device: address %#x, data %#x, %s\n",
               vm, v.bdf.bus, v.bdf.dev, v.bdf.fn, e[0], e[2], (e[3] & 1) ? "masked" : "unmasked");
    }
    // What the guest's header shows (vf_config.hpp), read from the real PF and VF.
    sriov::VfIdentity identity(const sriov::Vf& v) {
        sriov::VfIdentity id;
        id.vendor = static_cast<u16>(ecam_.read32(v.pf, pci::kCfgId));
        const Result<sriov::Capability> cap = sriov::read_capability(ecam_, v.pf);
        id.device = cap.ok() ? cap.value().vf_device : 0;
        id.class_rev = ecam_.read32(v.bdf, 0x08);
        id.subsystem = ecam_.read32(v.bdf, 0x2c);
        const Result<u32> msix = pci::find_cap(ecam_, v.bdf, 0x11);
        if (msix.ok()) {
            id.msix = true;
            id.msix_control = static_cast<u16>(ecam_.read32(v.bdf, msix.value()) >> 16);
            id.msix_table = ecam_.read32(v.bdf, msix.value() + 4);
            id.msix_pba = ecam_.read32(v.bdf, msix.value() + 8);
        }
        return id;
    }
    // The lowest window slot none of the VM's VFs uses; 0 if all are taken.
    u64 free_slot(u32 vm) const {
        for (u64 ipa = arch::kGuestPciWindow.raw();
             ipa < arch::kGuestPciWindow.raw() + arch::kGuestPciWindowSize; ipa += kSlot) {
            bool used = false;
            for (u32 i = 0; i < vfs_.count(); ++i)
                used |= vfs_.at(i).owner == vm && vfs_.at(i).guest_bar0 == ipa;
            if (!used) return ipa;
        }
        return 0;
    }
    // Without a free slot the ownership rules still say first why a VF cannot be had.
    sriov::VfError refusal_before_slot(pci::Bdf f, u32 vm) {
        const sriov::Vf* v = vfs_.find(f);
        if (v == nullptr) return vfs_.is_pf(f) ? sriov::VfError::IsPf : sriov::VfError::UnknownBdf;
        if (!v->provisioned) return sriov::VfError::NotProvisioned;
        if (v->owner == vm) return sriov::VfError::AlreadyOwned;
        if (v->owner != sriov::kNoOwner) return sriov::VfError::OwnedByOther;
        return sriov::VfError::NoRoom;
    }
    void unmap(Vm& vm, sriov::Vf& v, u64 bar_ipa) {
        if (bar_ipa != 0 && v.owner == sriov::kNoOwner) {
            arch::vm_unmap_device(vm, GuestPhys(bar_ipa), v.bar_size[0]);
            v.guest_bar0 = 0;
        }
    }
    void report(u32 vm, const sriov::Vf& v, Status s) {
        if (v.owner == sriov::kNoOwner)
            kprint("vm %u: VF %02x:%02x.%x detached: FLR %s, stream %#x quarantined (%s)\n", vm,
                   v.bdf.bus, v.bdf.dev, v.bdf.fn, v.provisioned ? "done" : "FAILED: VF retired",
                   iommu_stream(p_, v.bdf).value_or(0), iommu_quarantine_steps());
        else
            kprint("vm %u: VF %02x:%02x.%x: quarantine FAILED (%s): VF kept out of use\n", vm,
                   v.bdf.bus, v.bdf.dev, v.bdf.fn, status_name(s));
    }

    sriov::VfTable& vfs_;
    pci::EcamAccess ecam_;
    SmmuIsolation dma_;
    TickWaiter waiter_;
    const Platform& p_;
    sriov::VfAssigner assigner_;
    SpinLock lock_; // the views: the owners' vCPUs write them while their VMs run
    sriov::VfConfigView views_[sriov::VfTable::kMax];
    sriov::GuestBus buses_[Vm::kMaxVms]; // per VM slot (id - 1), reset at create
    bool empty_told_[Vm::kMaxVms] = {};  // an access where no function answers was reported
};

} // namespace

void set_vf_event_sink(VfEventSink* sink) { g_events = sink; }

namespace {

VmVfs* g_devices = nullptr;

VmVfs& devices(const Platform& p, sriov::VfTable& vfs) {
    static VmVfs d(p, vfs);
    g_devices = &d;
    return d;
}

} // namespace

VmDevices* vm_vfs(const Platform& p, sriov::VfTable& vfs) {
    if (!iommu_ready() || vfs.count() == 0) return nullptr;
    return &devices(p, vfs);
}

sriov::VfViewState vm_vfs_view(u32 i) {
    return g_devices != nullptr ? g_devices->view(i) : sriov::VfViewState{};
}

bool vm_vfs_bus(u32 vm_id, update::VmPciRecord& r) {
    if (g_devices == nullptr) return false;
    g_devices->bus_record(vm_id, r);
    return true;
}

VmDevices* vm_vfs_adopt(const Platform& p, sriov::VfTable& vfs, const update::HandoverView& v) {
    if (!iommu_ready() || vfs.count() == 0) return nullptr;
    VmVfs& d = devices(p, vfs);
    d.adopt(v);
    return &d;
}

} // namespace keel
