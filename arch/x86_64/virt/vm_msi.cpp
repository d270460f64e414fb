// MSIs of assigned VFs on x86_64 (docs/sriov.md "MSI-X", x86). The host side: each VF
// vector is an interrupt remapping table entry of the VT-d unit (drivers/iommu/vtd.hpp)
// that only the VF's requester ID may use, delivering a host vector in
// [kFirstVector, +kVectors) to the boot core; the VF's own MSI-X table holds one
// remappable-format address with SHV set for the run (data = the vector's index), so no
// device message is ever delivered as the device wrote it. The boot core takes its
// vectors in msi_next (vectors.S's stubs set a bit and end the interrupt). Without
// interrupt remapping no MSI is routed (Unsupported): a device could otherwise send any
// vector to any core.
//
// The guest side: what the guest programmed into its view of the table (guest_msi.hpp) is
// raised on the VM's virtual local APICs as the I/O APIC's routes are (vapic.cpp); the
// vCPU takes it at its next exit or while it waits in HLT.
#include <arch/vm.hpp>

#include "../apic.hpp"
#include "../asm_offsets.h"
#include "../percpu.hpp"
#include "../x86.hpp"
#include "exit_policy.hpp"
#include "guest_msi.hpp"
#include "hypervisor/io/iommu_boot.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm.hpp"
#include <arch/smp.hpp>

extern "C" {
// vectors.S: bit k set by the stub of vector kFirstVector + k.
keel::u64 x86_msi_arrived = 0;
keel::u32 x86_stray_interrupts = 0; // vectors.S: interrupts no one routed (x86_stray_stub)
}

namespace keel::arch {
namespace {

constexpr u32 kFirstVector = KEEL_X86_MSI_VECTOR_FIRST, kVectors = KEEL_X86_MSI_VECTORS;
static_assert(kVectors == 64, "one bit each in x86_msi_arrived");
static_assert(kFirstVector > KEEL_X86_KICK_VECTOR && kFirstVector + kVectors <= 0xff);
// Which requester ID (+ 1) holds each vector and its IRTE (handle = vector - kFirstVector).
u32 g_owner[kVectors] = {};
bool g_routed = false; // an MSI was ever routed (the legacy PIC is masked from then on)

} // namespace
} // namespace keel::arch

namespace keel::x86 {

bool msi_arrived() {
    if (!arch::g_routed) return false; // nothing routed yet
    apic_take_kick();
    static u32 told = 0;
    const u32 stray = __atomic_load_n(&x86_stray_interrupts, __ATOMIC_RELAXED);
    if (stray != told) {
        kprint("x86: %u interrupt%s no one routed arrived at the boot core (ended, ignored)\n",
               stray - told, stray - told == 1 ? "" : "s");
        told = stray;
    }
    return __atomic_load_n(&x86_msi_arrived, __ATOMIC_ACQUIRE) != 0;
}

} // namespace keel::x86

namespace keel::arch {

bool guest_msi(u64 address, u32 data, u32* intid) {
    return virt::pack_guest_msi(address, data, intid);
}

void vm_raise_msi(Vm& vm, u32 intid) {
    const virt::GuestMsi m = virt::unpack_guest_msi(intid);
    virt::deliver_route(vm, virt::IoapicRoute{true, m.vector, m.mode, m.logical, m.dest});
}

Status msi_map(u32 device_id, u32 vectors, u64* doorbell, u32* first) {
    if (!iommu_remaps_msis()) return Status::Unsupported;
    if (vectors == 0 || vectors > kVectors || device_id > 0xffff) return Status::InvalidArgument;
    u32 at = kVectors;
    for (u32 s = 0; s + vectors <= kVectors && at == kVectors; ++s) {
        bool free = true;
        for (u32 k = 0; k < vectors; ++k)
            free = free && g_owner[s + k] == 0;
        if (free) at = s;
    }
    if (at == kVectors) return Status::NoMemory;
    if (!g_routed) { // the boot core opens for interrupts in msi_next: no 8259 IRQ in it
        x86::legacy_pic_mask_all();
        x86::apic_mask_lint0(); // nor an ExtINT through LINT0 (its vector would be the PIC's)
        g_routed = true;
    }
    const u32 boot = x86::cpu(boot_cpu_index()).apic_id;
    for (u32 k = 0; k < vectors; ++k) {
        const Status s =
            iommu_route_msi(static_cast<u16>(at + k), static_cast<u8>(kFirstVector + at + k), boot,
                            static_cast<u16>(device_id));
        if (s != Status::Ok) {
            for (u32 j = 0; j < k; ++j) {
                (void)iommu_unroute_msi(static_cast<u16>(at + j));
                g_owner[at + j] = 0;
            }
            return s;
        }
        g_owner[at + k] = device_id + 1;
    }
    *doorbell = iommu::vtd::remappable_msi_address_shv(static_cast<u16>(at));
    *first = kFirstVector + at;
    return Status::Ok;
}

void msi_unmap(u32 device_id) {
    for (u32 k = 0; k < kVectors; ++k)
        if (g_owner[k] == device_id + 1) {
            (void)iommu_unroute_msi(static_cast<u16>(k));
            g_owner[k] = 0;
            __atomic_fetch_and(&x86_msi_arrived, ~(1ull << k), __ATOMIC_ACQ_REL);
        }
}

u32 msi_next() {
    if (!x86::msi_arrived()) return 0;
    const u64 bits = __atomic_load_n(&x86_msi_arrived, __ATOMIC_ACQUIRE);
    const u32 k = static_cast<u32>(__builtin_ctzll(bits));
    __atomic_fetch_and(&x86_msi_arrived, ~(1ull << k), __ATOMIC_ACQ_REL);
    return kFirstVector + k;
}

// The remapping table is the VT-d driver's, in the I/O region with its other tables
// (hypervisor/io/io_region.hpp): nothing of its own to place.
void msi_use_memory(u8*) {}

// The routes as the Io record's MSI map (docs/handover.md §2.2 Io, x86_64): one slot per run
// of entries a requester ID holds, `first` its first host vector; the target is the boot
// core's APIC ID, where every route delivers.
Status msi_describe(update::IoRecord& r) {
    // The boot core's loop delivers every MSI it takes before it answers a command, and takes
    // none while it does (msi_arrived): one left here would be lost with this image.
    if (__atomic_load_n(&x86_msi_arrived, __ATOMIC_ACQUIRE) != 0) return Status::Busy;
    r.msi_ready = g_routed ? 1 : 0;
    r.msi_base = 0;
    r.msi_target = g_routed ? x86::cpu(boot_cpu_index()).apic_id : 0;
    r.msi_cwriter = 0;
    r.msi_devices = update::kHandoverMaxMsiDevices;
    u32 slots = 0;
    for (u32 k = 0; k < kVectors; ++k) {
        if (g_owner[k] == 0) continue;
        if (k != 0 && g_owner[k - 1] == g_owner[k] && r.msi_map[slots - 1].events < 8) {
            ++r.msi_map[slots - 1].events;
            continue;
        }
        if (slots == update::kHandoverMaxMsiDevices) return Status::NoMemory;
        r.msi_map[slots++] = update::IoMsiDevice{g_owner[k] - 1, kFirstVector + k, 1, 0};
    }
    return Status::Ok;
}

// The incoming image: the routes the record names, each checked against the remapping table
// the VT-d unit was adopted with (iommu_adopt, before this), and no other entry of Keel's
// vector range present. Nothing is written to the unit.
Status msi_adopt(const update::IoRecord& r) {
    if (r.msi_ready == 0) {
        for (u32 k = 0; k < kVectors; ++k)
            if (iommu_msi_route_present(static_cast<u16>(k))) return Status::Corrupt;
        return Status::Ok;
    }
    // The routes deliver to the core they were made on, which is this one (the outgoing
    // image's boot core jumped here): its APIC ID as CPUID gives it, since this image's own
    // local APIC view is not set yet.
    const u32 here = x86::initial_apic_id();
    if (!iommu_remaps_msis() || r.msi_base != 0 || r.msi_cwriter != 0 || r.msi_target != here ||
        r.msi_devices != update::kHandoverMaxMsiDevices)
        return Status::Corrupt;
    u32 owner[kVectors] = {};
    for (const update::IoMsiDevice& d : r.msi_map) {
        if (d.events == 0) continue;
        if (d.device_id > 0xffff || d.first < kFirstVector ||
            d.first - kFirstVector + d.events > kVectors)
            return Status::Corrupt;
        for (u32 e = 0; e < d.events; ++e) {
            const u32 k = d.first - kFirstVector + e;
            if (owner[k] != 0 ||
                !iommu_msi_routed(static_cast<u16>(k), static_cast<u8>(d.first + e), here,
                                  static_cast<u16>(d.device_id)))
                return Status::Corrupt; // two devices on one vector, or a route not as told
            owner[k] = d.device_id + 1;
        }
    }
    for (u32 k = 0; k < kVectors; ++k)
        if (owner[k] == 0 && iommu_msi_route_present(static_cast<u16>(k))) return Status::Corrupt;
    for (u32 k = 0; k < kVectors; ++k)
        g_owner[k] = owner[k];
    // As msi_map does at the first route: the boot core opens for interrupts in msi_next, so
    // no 8259 IRQ may reach it (the outgoing image masked the PIC, and LINT0 in this core's
    // local APIC, which stays masked: nothing here writes the LVT).
    x86::legacy_pic_mask_all();
    g_routed = true;
    return Status::Ok;
}

} // namespace keel::arch
