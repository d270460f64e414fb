// The incoming image's side of an x86 live update (docs/handover.md §5.1): keel_uefi_entry
// found a handover record instead of a BootInfo, zeroed this image's .bss and relocated it
// into the run slot (relocate.S). It runs on the outgoing image's flat map, GDT and IDT and
// changes none of them until it stays. It checks the record with the parser every image
// runs, reads the platform from the recorded RSDP, then adopts into its own memory what the
// record hands over: the partition pool, the NPT trees read in place in the table region
// (their pages claimed, not written), and every VM with its devices and vCPUs
// (virt/vm_adopt.cpp, a VMCB built from each record), each described again and compared with
// its record byte for byte, and the I/O state of assigned VFs (the VT-d unit on the I/O
// region, its routes, the VF table, each VM's PCIe view). Every other core comes over through the
// doorbell (handover_secondary.S). With everything in hand and its own page tables built, it stays
// (handover_stay.cpp); on any refusal it sends every core back and hands back, having
// written nothing outside its own span.
#include <string.h>

#include "acpi_platform.hpp"
#include "apic.hpp"
#include "asm_offsets.h"
#include "descriptors.hpp"
#include "ept_format.hpp"
#include "handover_stay.hpp"
#include "hypervisor/io/io_handover.hpp"
#include "hypervisor/platform.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/status.hpp"
#include "hypervisor/update/doorbell.hpp"
#include "hypervisor/update/handover.hpp"
#include "hypervisor/update/image_note.hpp"
#include "hypervisor/update/report.hpp"
#include "hypervisor/update/swap.hpp"
#include "hypervisor/update/take_over.hpp"
#include "hypervisor/vm/vm.hpp"
#include "hypervisor/vm/vm_manager.hpp"
#include "paging.hpp"
#include "tsc.hpp"
#include "virt/backend.hpp"
#include "virt/handover_vm.hpp"
#include "virt/vm_tables.hpp"
#include "x86.hpp"

extern "C" char __image_start[], __image_end[];
extern "C" keel::u64 keel_relocations, keel_image_linked_at; // relocate.S
extern "C" [[noreturn]] void keel_x86_handover_back(keel::u64 code, keel::u64 back,
                                                    keel::u64 cookie);
extern "C" char keel_x86_handover_secondary[]; // handover_secondary.S

// The visiting cores' stacks and how many took one (handover_secondary.S).
extern "C" {
alignas(16) keel::u8
    keel_x86_handover_stacks[KEEL_X86_MAX_CPUS][1u << KEEL_X86_HANDOVER_STACK_SHIFT];
keel::u32 keel_x86_handover_arrivals = 0;
}

namespace keel::x86 {
namespace {

// The record is read in place, at most this much of it (the outgoing image's buffer).
constexpr u64 kRecordMax = 128 * KiB;

[[noreturn]] void hand_back(u64 back, u64 cookie, update::HandBackReason why, Status s) {
    keel_x86_handover_back(update::encode_hand_back(why, s), back, cookie);
}

using ull = unsigned long long;

// The backend by the outgoing image's rule (features.cpp): VT-x where the CPU has it, else SVM.
virt::Backend backend_from_cpuid() {
    if ((cpuid(1).ecx >> 5 & 1) != 0) return virt::Backend::Vmx;
    if (cpuid(0x80000000).eax >= 0x80000001 && (cpuid(0x80000001).ecx >> 2 & 1) != 0)
        return virt::Backend::Svm;
    return virt::Backend::None;
}

// ACPI tables read where they are: the flat map covers the low 4 GiB.
const u8* flat_reader(void*, u64 pa, u64 size) {
    return size != 0 && pa + size > pa && pa + size <= 4 * GiB ? reinterpret_cast<const u8*>(pa)
                                                               : nullptr;
}

// The platform from the ACPI tables the outgoing image read its own from (OldImage acpi_rsdp),
// read as at boot (read_acpi_platform), and each core the outgoing image has online one of its
// enabled CPUs. Says what it found.
bool take_platform(const update::OldImageRecord& old, Platform& p) {
    const char* where = "";
    const Status s =
        old.acpi_rsdp != 0
            ? read_acpi_platform(old.acpi_rsdp, acpi::PhysReader{flat_reader, nullptr}, p, &where)
            : Status::NotFound;
    u32 known = 0;
    for (u32 i = 0; i < p.cpu_count && i < 64; ++i)
        known += (old.cores_online >> i & 1) != 0 && p.cpus[i].enabled;
    const u32 online = static_cast<u32>(__builtin_popcountll(old.cores_online));
    const bool ok = s == Status::Ok && known == online;
    if (ok)
        kprint("handover: ACPI tables from RSDP %#llx, platform read: %u cpus, the %u online "
               "among them\n",
               static_cast<ull>(old.acpi_rsdp), p.cpu_count, online);
    else
        kprint("handover: ACPI tables from RSDP %#llx NOT usable: %s (%s), %u of %u online cores "
               "found\n",
               static_cast<ull>(old.acpi_rsdp), where, status_name(s), known, online);
    return ok;
}

// The VMs' EPT/NPT table region, where the record says it is, as this image's table pool.
// It must lie on the flat map this image runs on (the low 4 GiB).
bool take_tables(const update::OldImageRecord& o) {
    const bool ok = o.tables_size == virt::kTableRegionBytes && o.tables_base != 0 &&
                    o.tables_base + o.tables_size <= 4 * GiB &&
                    virt::vm_tables_use_region(o.tables_base, o.tables_size) == Status::Ok;
    if (!ok)
        kprint("handover: EPT/NPT table region %#llx (%llu B) NOT usable\n",
               static_cast<ull>(o.tables_base), static_cast<ull>(o.tables_size));
    return ok;
}

// The adopted VM's vCPUs and devices described again as the outgoing image describes them:
// how many of its records come out byte for byte as they went in.
u32 same_records(const update::HandoverView& v, u32 at, const Vm& vm, u32* total) {
    static update::VcpuX86Record again; // off the stack
    static update::X86DevicesRecord devices;
    u32 same = 0;
    for (u32 i = 0; i < v.x86_vcpu_count; ++i) {
        const update::VcpuX86Record& r = *v.x86_vcpus[i];
        if (r.vm_id != vm.id || r.index >= virt::kMaxVcpus) continue;
        ++*total;
        same += virt::vcpu_x86_record(vm, vm.arch.vcpu[r.index], again) == Status::Ok &&
                memcmp(&again, &r, sizeof r) == 0;
    }
    ++*total;
    virt::devices_x86_record(vm, devices);
    same += memcmp(&devices, v.x86_devices[at], sizeof devices) == 0;
    return same;
}

// Each VM taken (update::take_vm; its x86 state, virt/vm_adopt.cpp, only where its tree
// checked: `arch`), then said, with whether its records describe again identical.
bool take_vms(const update::HandoverView& v, bool arch) {
    bool all = arch;
    for (u32 i = 0; i < v.vm_count; ++i) {
        const Vm* vm = update::take_vm(v, i, arch, &all);
        if (vm == nullptr) continue;
        const update::VmRecord& r = *v.vms[i];
        u32 total = 0;
        const u32 same = same_records(v, i, *vm, &total);
        all &= same == total;
        kprint("handover: vm %u arch state adopted: %s %#llx kept, %u table pages claimed, %u "
               "vCPUs, %u live; %u of %u records described again identical\n",
               r.id, virt::backend_ops().stage2_name, static_cast<ull>(vm->arch.stage2),
               vm->stage2_tables, vm->arch.vcpus, vm->arch.live, same, total);
    }
    return all;
}

// The I/O region mapped where the record says (for this image's own tables: the flat map
// reaches it already), then the VT-d unit, its interrupt routes, the VF table and the VMs' PCIe
// views taken over from it (hypervisor/io/io_handover.hpp). Says what it found.
bool take_io(const update::HandoverView& v, const Platform& p) {
    if (v.io == nullptr) return true;
    const char* why = "the I/O region";
    const update::IoRecord& io = *v.io;
    Status s = io.region_size % 4096 != 0 || io.region_base + io.region_size > 4 * GiB
                   ? Status::InvalidArgument
                   : map_phys(io.region_base, io.region_size, MapKind::ReadWrite);
    if (s == Status::Ok) s = io_adopt(v, p, &why);
    if (s != Status::Ok) kprint("handover: I/O NOT adopted: %s (%s)\n", why, status_name(s));
    return s == Status::Ok;
}

static_assert(KEEL_X86_MAX_CPUS == kMaxCpus);

// How long the boot core waits for the outgoing image's other cores to come and to go. Each
// comes from its park point or idle loop within microseconds on hardware; under TCG on a
// loaded host a core's turn can take over 100 ms.
constexpr u64 kSecondaryWaitMs = 1000;

// The doorbell the outgoing image passed: one line in the flat map's reach, or none.
update::Doorbell* doorbell_at(u64 at) {
    if (at == 0 || at % 64 != 0 || at + sizeof(update::Doorbell) > 4 * GiB) return nullptr;
    return reinterpret_cast<update::Doorbell*>(at);
}

// Names this image's secondary entry in the doorbell and waits until `cores` cores of the
// outgoing image arrived (or the wait ends). Returns how many arrived.
u32 take_in_secondaries(update::Doorbell& d, u32 cores) {
    __atomic_store_n(&d.secondary_entry, reinterpret_cast<u64>(keel_x86_handover_secondary),
                     __ATOMIC_RELEASE);
    const u32 arrived = wait_count(d.arrived, cores, kSecondaryWaitMs);
    kprint("handover: %u of %u cores came over (each on its own stack here, on the flat map)\n",
           arrived, cores);
    return arrived;
}

// Every core that arrived told to hand back (`why`), and waited for; then this one too.
[[noreturn]] void send_back(update::Doorbell* d, u32 arrived, u64 back, u64 cookie,
                            update::HandBackReason why, Status s, const char* text) {
    if (d != nullptr) {
        __atomic_store_n(&d->reason, static_cast<u32>(why), __ATOMIC_RELAXED);
        __atomic_store_n(&d->go, update::kGoBack, __ATOMIC_RELEASE);
        const u32 left = wait_count(d->left, arrived, kSecondaryWaitMs);
        kprint("handover: %u of %u cores went back; %s: handing back to the outgoing image\n", left,
               arrived, text);
    } else {
        kprint("handover: no doorbell; %s: handing back to the outgoing image\n", text);
    }
    hand_back(back, cookie, why, s);
}

// This image's page tables built, not yet switched to (paging_build): the image, and what the
// boot core reads after the switch: the record (read only), the doorbell's page, the VMs'
// table region; then the local APIC's mode (its page mapped where xAPIC). False (said) on a
// failure; nothing the outgoing image runs has changed.
bool prepare_own_tables(u64 record, u64 bytes, u64 doorbell, const update::OldImageRecord& o) {
    const u64 page = align_down(doorbell, u64{4096});
    Status s = map_phys(record, bytes, MapKind::ReadOnly);
    if (s == Status::Ok) s = map_phys(page, 4096, MapKind::ReadWrite);
    if (s == Status::Ok) s = map_phys(o.tables_base, o.tables_size, MapKind::ReadWrite);
    if (s == Status::Ok) s = paging_build();
    if (s == Status::Ok) s = apic_init_boot().status();
    if (s != Status::Ok) kprint("handover: own page tables NOT built: %s\n", status_name(s));
    return s == Status::Ok;
}

} // namespace
} // namespace keel::x86

// A visiting core of the outgoing image (handover_secondary.S, on its own stack here, on the
// flat map, on its own GDT and IDT): says it is here and waits for the boot core's word. Sent
// back, it goes back with its reason, having touched nothing of its guest's or its core's
// state; told to stay, it becomes one of this image's cores (smp.cpp adopted_ap_main).
extern "C" [[noreturn]] void x86_handover_secondary_main(keel::u64 doorbell, keel::u64 back,
                                                         keel::u64 cookie) {
    using namespace keel;
    auto& d = *reinterpret_cast<update::Doorbell*>(doorbell);
    __atomic_add_fetch(&d.arrived, 1u, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&d.go, __ATOMIC_ACQUIRE) == update::kGoWait)
        asm volatile("pause" ::: "memory");
    const u32 go = __atomic_load_n(&d.go, __ATOMIC_ACQUIRE);
    const auto why =
        static_cast<update::HandBackReason>(__atomic_load_n(&d.reason, __ATOMIC_RELAXED));
    __atomic_add_fetch(&d.left, 1u, __ATOMIC_ACQ_REL); // the doorbell is not read again
    if (go == update::kGoStay) x86::adopted_ap_main();
    keel_x86_handover_back(update::encode_hand_back(why, Status::Ok), back, cookie);
}

extern "C" [[noreturn]] void x86_handover_main(keel::u64 record, keel::u64 back, keel::u64 cookie,
                                               keel::u64 flat_cr3, keel::u64 doorbell) {
    using namespace keel;
    using x86::ull;
    (void)flat_cr3; // the map this image runs on: its own tables come with staying
    x86::mark_step("entered");
    const u64 base = reinterpret_cast<uptr>(__image_start);
    const u64 span = static_cast<u64>(__image_end - __image_start);
    kprint("handover: Keel %s (incoming image) running at %#llx, linked at %#llx (%llu "
           "relocations), record at %#llx\n",
           update::keel_image_note.version, static_cast<ull>(base),
           static_cast<ull>(keel_image_linked_at), static_cast<ull>(keel_relocations),
           static_cast<ull>(record));
    const u64 length = reinterpret_cast<const volatile update::HandoverHeader*>(record)->length;
    const u64 bytes = length < x86::kRecordMax ? length : x86::kRecordMax;
    static update::HandoverView view;
    const update::HandoverRange reads = update::own_handover_range();
    const Status s = update::parse_handover(reinterpret_cast<const u8*>(record),
                                            static_cast<usize>(bytes), reads.min, reads.max, view);
    if (s != Status::Ok) {
        kprint("handover: record refused: %s; handing back\n", status_name(s));
        x86::hand_back(back, cookie, update::HandBackReason::RecordRefused, s);
    }
    x86::mark_step("parsed"); // its SHA-256 most of it
    update::report_record_checked(view);
    // The TSC's rate (the bounded waits below, and the vCPUs' timers once it stays): the
    // outgoing image's from the record (ABI 8), else measured as at boot.
    x86::mark_step("checked");
    const update::X86ClockRecord* clock = view.x86_clock;
    const bool carried = clock != nullptr && clock->tsc_hz != 0;
    if (carried) x86::tsc_adopt({clock->tsc_hz, static_cast<x86::TscSource>(clock->tsc_source)});
    const x86::TscRate tsc = carried ? x86::tsc_rate() : x86::tsc_calibrate();
    x86::mark_step("TSC");
    kprint("handover: TSC %llu kHz (%s, %s), local APIC timer rate %s\n",
           static_cast<ull>(tsc.hz / 1000),
           tsc.source == x86::TscSource::Cpuid15 ? "CPUID 0x15"
           : tsc.source == x86::TscSource::Pit   ? "measured against the PIT"
                                                 : "unknown",
           carried ? "carried in the record" : "measured again",
           carried && clock->timer_per_tsc_q32 != 0 ? "carried in the record"
                                                    : "measured once staying");
    virt::set_backend(x86::backend_from_cpuid());
    static Platform platform;
    const bool described = x86::take_platform(*view.old_image, platform);
    if (described) vm_manager().set_topology(platform);
    const bool pool = update::take_pool(view, base, span);
    const bool tables = x86::take_tables(*view.old_image);
    const bool in_place = tables && update::check_stage2_in_place<x86::NptFormat>(view);
    const bool vms = pool && x86::take_vms(view, in_place);
    // The assigned VFs' I/O state, where the I/O region keeps it (docs/handover.md §2.2 Io).
    const bool io = vms && x86::take_io(view, platform);
    x86::mark_step("adopted");
    // Every core the outgoing image has online but this one comes over (§4.5).
    update::Doorbell* d = x86::doorbell_at(doorbell);
    const u32 cores = static_cast<u32>(__builtin_popcountll(view.old_image->cores_online)) - 1;
    const u32 arrived = d != nullptr ? x86::take_in_secondaries(*d, cores) : 0;
    if (!described)
        x86::send_back(d, arrived, back, cookie, update::HandBackReason::AdoptionRefused,
                       Status::Ok, "no platform description");
    if (!pool || !tables || !vms || !io)
        x86::send_back(d, arrived, back, cookie, update::HandBackReason::AdoptionRefused,
                       Status::Ok, "adoption refused");
    if (arrived != cores)
        x86::send_back(d, arrived, back, cookie, update::HandBackReason::CoresMissing, Status::Ok,
                       "not every core came over");
    // What staying needs that can still fail, before the point of no return: this image's
    // own tables (the image, the record, the doorbell, the table region), its local APIC
    // mode, its per-CPU slots.
    const bool own =
        d != nullptr && x86::prepare_own_tables(record, bytes, doorbell, *view.old_image);
    if (!own)
        x86::send_back(d, arrived, back, cookie, update::HandBackReason::AdoptionRefused,
                       Status::Ok, "this image's own page tables NOT built");
    const u32 boot = x86::smp_adopt(platform, view.old_image->cores_online);
    // Read as memory: a test patches the note in the ELF before signing (image_note.hpp).
    if ((*reinterpret_cast<const volatile u32*>(&update::keel_image_note.flags) &
         update::kNoteFlagFailHealthCheck) != 0)
        x86::send_back(d, arrived, back, cookie, update::HandBackReason::HealthCheck, Status::Ok,
                       "health check failed (this image fails it on purpose: a test image)");
    u32 parked = 0;
    for (u32 i = 0; i < view.x86_vcpu_count; ++i)
        parked += view.x86_vcpus[i]->run == static_cast<u32>(virt::VcpuRun::Running);
    kprint("handover: %u VMs adopted, %u cores came over: staying\n", view.vm_count, arrived);
    x86::stay(view, *d, platform, boot, arrived, parked, carried ? clock->timer_per_tsc_q32 : 0);
}
