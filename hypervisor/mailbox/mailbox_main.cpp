#include "hypervisor/mailbox/mailbox_main.hpp"

#include <arch/cpu.hpp>
#include <arch/entropy.hpp>
#include <arch/mailbox.hpp>
#include <arch/ticks.hpp>
#include <arch/update.hpp>
#include <string.h>

#include "crypto/selftest.hpp"
#include "drivers/pci/bar_place.hpp"
#include "drivers/pci/claims.hpp"
#include "hypervisor/entropy/seed.hpp"
#include "hypervisor/io/io_region.hpp"
#include "hypervisor/io/iommu_boot.hpp"
#include "hypervisor/io/sriov_boot.hpp"
#include "hypervisor/io/vm_vfs.hpp"
#include "hypervisor/mailbox/service.hpp"
#include "hypervisor/panic.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/update/image_note.hpp"
#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm_control.hpp"

extern "C" const keel::u8 keel_controller_key[keel::crypto::kP384PublicKeySize];
extern "C" const keel::u8 keel_image_trust_key[keel::crypto::kP384PublicKeySize];

namespace keel {
namespace {

using ull = unsigned long long;
constexpr u16 kVendor = 0x1af4; // Red Hat / virtio: ivshmem
constexpr u16 kDevice = 0x1110;
constexpr u32 kShmBar = 2; // ivshmem: BAR0 registers, BAR2 shared memory
// At most this much of BAR2 is used: EL2 maps it with 4 KiB pages from a small fixed
// table pool (arm64: one table per 2 MiB), and a larger map would starve the window
// the loader and scrubber need. 16 MiB already takes a whole Linux initrd per chunk.
constexpr u64 kMaxRegion = 16 * MiB;

u64 g_region_base = 0;
const char* g_cmdline = nullptr; // the running Keel's command line (OldImage cmdline)
u64 g_region_size = 0;
entropy::Seed g_seed;                   // this boot's seed (hypervisor/entropy/seed.hpp)
u32 g_boot_arch = 0;                    // BootArch: the arch an incoming image must be for
u32 g_boot_floor = KEEL_SECURITY_FLOOR; // the first update's floor (update_floor)

// The seed every mailbox secret comes from, or false (and why on the console): with no
// entropy source at all the mailbox does not attach, rather than publish a nonce an
// attacker could predict (docs/mailbox.md §4.1).
bool gather_entropy(const BootInfo& info) {
    entropy::Inputs in;
    in.cpu_count = arch::cpu_random(in.cpu, entropy::kCpuWords, &in.cpu_name);
    entropy::take_boot_info(info, in);
    in.ticks = arch::ticks().count;
    const char* why = nullptr;
    const Status s = entropy::derive_seed(in, g_seed, &why);
    if (s != Status::Ok) {
        kprint("mailbox: refused: no entropy source: %s\n", why != nullptr ? why : status_name(s));
        return false;
    }
    const bool cpu = (g_seed.sources & entropy::kSourceCpu) != 0;
    const bool stage = (g_seed.sources & entropy::kSourceBootStage) != 0;
    kprint("mailbox: entropy from%s%s%s%s, boot counter %llu%s\n", cpu ? " " : "",
           cpu ? in.cpu_name : "", stage ? " boot-stage " : "",
           stage ? (info.entropy_source == static_cast<u32>(EntropySource::EfiRng)
                        ? "EFI_RNG_PROTOCOL"
                        : "rng-seed")
                 : "",
           static_cast<ull>(in.boot_counter),
           (info.flags & BootInfo::kFlagBootCounter) != 0 ? "" : " (none persistent)");
    if (in.cpu_name != nullptr && !cpu)
        kprint("mailbox: %s failed its health test (%llu of %llu words): not used\n", in.cpu_name,
               static_cast<ull>(in.cpu_count), static_cast<ull>(entropy::kCpuWords));
    return true;
}

mailbox::Service& service() {
    // Function-local: constructed on first use on the boot core (the image walks no
    // init_array); never destroyed (the loop never ends), so no atexit registration.
    [[clang::no_destroy]] static mailbox::Service s;
    return s;
}
// Guest console output into the VM's console-out ring, once attach has finished on the
// boot core (guest cores read g_attached on their UART TX paths).
bool g_attached = false;
class RingSink final : public ConsoleSink {
public:
    void out(u32 vm_id, const char* bytes, usize len) override {
        if (__atomic_load_n(&g_attached, __ATOMIC_ACQUIRE))
            service().console_out(vm_id, bytes, len);
    }
};
RingSink g_sink;

} // namespace

bool mailbox_discover(const BootInfo& info, const Platform& p) {
    if (p.ecam_base == 0 || p.ecam_size < MiB) return false;
    // Only the root bus: the platforms Keel supports put the mailbox on bus 0 and the
    // hypervisor maps 1 MiB of ECAM, not the whole bus range.
    if (arch::mailbox_map_device(p.ecam_base, MiB) != Status::Ok) return false;
    pci::EcamAccess ecam(p.ecam_base, p.pci_bus_start, 1);
    Result<pci::Bdf> dev =
        pci::find_device(ecam, p.pci_bus_start, p.pci_bus_start, kVendor, kDevice);
    if (!dev.ok()) return false;
    pci::Bar bars[6];
    Status s = pci::size_bars(ecam, dev.value(), bars);
    if (s != Status::Ok) {
        kprint("mailbox: device %02x:%02x.%x: BARs unusable: %s\n", dev.value().bus,
               dev.value().dev, dev.value().fn, status_name(s));
        return false;
    }
    const pci::Bar& shm = bars[kShmBar];
    if (!shm.present || shm.size < mailbox::kMinRegionSize) {
        kprint("mailbox: refused: shared-memory BAR is %llu KiB, at least %llu KiB needed\n",
               static_cast<ull>(shm.size / KiB), static_cast<ull>(mailbox::kMinRegionSize / KiB));
        return false;
    }
    // Nothing the machine already uses may be overlapped: RAM, the ECAM window, the UART,
    // the interrupt controller, BARs Keel placed before (SR-IOV).
    MemRange busy[pci::kBusyMax];
    const u32 nbusy = pci::busy_ranges(p, busy, pci::kBusyMax);
    pci::Window windows[4];
    pci::PlaceConstraints c;
    c.windows = windows;
    c.window_count = arch::pci_windows(info, windows, 4);
    if (c.window_count == 0) {
        // No bridge windows known (an ACPI boot: they are in the DSDT's AML, which Keel
        // does not interpret): keep where the UEFI firmware placed each BAR, still
        // checked against RAM and the devices below like any placement.
        for (const pci::Bar& b : bars)
            if (b.present && !b.io && b.firmware_addr != 0 && c.window_count < 4)
                windows[c.window_count++] = pci::Window{b.firmware_addr, b.size, b.is64};
        if (c.window_count != 0)
            kprint("mailbox: no PCIe bridge windows described: keeping the firmware's BARs\n");
    }
    c.busy = busy;
    c.busy_count = nbusy;
    c.addr_limit = arch::mailbox_addr_limit();
    s = pci::place_bars(bars, c);
    if (s != Status::Ok) {
        kprint("mailbox: refused: no room for the BARs in the bridge windows: %s\n",
               status_name(s));
        return false;
    }
    pci::program_bars(ecam, dev.value(), bars);
    const u64 used = shm.size < kMaxRegion ? shm.size : kMaxRegion;
    s = arch::mailbox_map_device(shm.addr, used);
    if (s != Status::Ok) {
        kprint("mailbox: refused: cannot map BAR2 at %#llx: %s\n", static_cast<ull>(shm.addr),
               status_name(s));
        return false;
    }
    if (!gather_entropy(info)) return false;
    g_boot_arch = static_cast<u32>(info.arch);
    g_boot_floor = update_floor(info, KEEL_SECURITY_FLOOR);
    if (g_boot_floor != KEEL_SECURITY_FLOOR)
        kprint("mailbox: security floor %u from the boot stage (built-in %u)\n", g_boot_floor,
               KEEL_SECURITY_FLOOR);
    g_region_base = shm.addr;
    g_region_size = used;
    kprint("mailbox: ivshmem %02x:%02x.%x, BAR2 %llu MiB at %#llx (using %llu MiB)\n",
           dev.value().bus, dev.value().dev, dev.value().fn, static_cast<ull>(shm.size / MiB),
           static_cast<ull>(shm.addr), static_cast<ull>(used / MiB));
    return true;
}

mailbox::SessionLimits mailbox_session_limits(const Cmdline& cmdline) {
    mailbox::SessionLimits l;
    u64 n = 0;
    if (cmdline.number("keel.session_commands", 1, 0xffffffffu, &n))
        l.max_commands = static_cast<u32>(n);
    if (cmdline.number("keel.session_ms", 1, 0xffffffffu, &n)) l.max_age_ms = static_cast<u32>(n);
    return l;
}

// VF events (hypervisor/io/vm_vfs.hpp) into the audit log.
class AuditVfEvents final : public VfEventSink {
public:
    void dma_fault(u32 owner, const char* detail) override { service().dma_fault(owner, detail); }
    void vf_released(u32 owner, const char* detail) override {
        service().vf_released(owner, detail);
    }
};

namespace {

void copy_key(const u8 (&from)[crypto::kP384PublicKeySize], u8 (&to)[crypto::kP384PublicKeySize]) {
    for (usize i = 0; i < sizeof to; ++i)
        to[i] = from[i];
}

// What an incoming keel.img must satisfy (docs/handover.md §1.2), the live-update region
// taken from the pool (§1.1), into the service. False (said) when there is none.
update::Expect update_expect(u32 floor) {
    update::Expect expect;
    copy_key(keel_image_trust_key, expect.anchor.public_key);
    expect.policy.arch = static_cast<image::Arch>(g_boot_arch);
    expect.policy.security_floor = floor;
    expect.handover_written = update::own_handover_range().written;
    return expect;
}

bool set_up_update(u32 floor) {
    const update::Expect expect = update_expect(floor);
    mailbox::Service::UpdateSetup up;
    up.expect = expect;
    up.swap = arch::live_update();
    up.cmdline = g_cmdline;
    if (up.swap != nullptr &&
        up.swap->reserve(&up.region, &up.region_size, &up.record, &up.record_size) != Status::Ok) {
        kprint("mailbox: no live-update region (pool exhausted): UPDATE will answer Unsupported\n");
        up = mailbox::Service::UpdateSetup{};
    }
    // Without the I/O region the IOMMU's stream table, queues and per-VF tables (and the
    // ITS's) live in this image (docs/handover.md §1.1): an incoming image would free them.
    if (iommu_ready() && io_region() == nullptr)
        up.no_swap = "an IOMMU is in use and its tables live in this image";
    service().set_update(up);
    if (up.region != nullptr)
        kprint("mailbox: update region %llu KiB at %#llx, floor %u, handover abi %u, swap: %s\n",
               static_cast<ull>(up.region_size / KiB),
               static_cast<ull>(reinterpret_cast<uptr>(up.region)), expect.policy.security_floor,
               expect.handover_written,
               up.no_swap != nullptr ? up.no_swap : up.swap->swap_summary());
    else
        kprint("mailbox: no live update on this arch (UPDATE answers Unsupported)\n");
    return up.region != nullptr;
}

// The image a live update replaced (docs/handover.md §4.7), until the commit.
update::OldImageRecord g_outgoing{};

// The commit (§4.6): every vCPU back in its guest, the mailbox answering from this image and,
// after an Apply, the controller's Commit (§4.7). The floor rises to the image's security
// version, the outgoing image's memory goes back to the pool, a new update region comes
// from it. A rollback commits the same way, the floor as it was.
Status commit_update(char* what, usize size) {
    const arch::TickCount t0 = arch::ticks();
    const update::OldImageRecord& old = g_outgoing;
    const bool rollback = (old.flags & update::kOldImageRollback) != 0;
    const u32 floor = old.incoming_security_version > old.security_floor
                          ? old.incoming_security_version
                          : old.security_floor;
    const u64 freed = arch::live_update()->release_outgoing(old);
    (void)set_up_update(floor > KEEL_SECURITY_FLOOR ? floor : KEEL_SECURITY_FLOOR);
    char detail[40];
    format(detail, sizeof detail, "%s committed: floor %u, %llu MiB back",
           rollback ? "rollback" : "update", floor, static_cast<ull>(freed / MiB));
    service().update_committed(detail);
    kprint("update: committed: Keel %s%s, security floor %u, %llu MiB of the outgoing image back "
           "in the pool (%llu MiB free)\n",
           update::keel_image_note.version, rollback ? " again" : "", floor,
           static_cast<ull>(freed / MiB), static_cast<ull>(pool_free_bytes() / MiB));
    format(what, size, "Keel %s, floor %u, %llu MiB of Keel %s back",
           update::keel_image_note.version, floor, static_cast<ull>(freed / MiB), old.version);
    g_outgoing = update::OldImageRecord{};
    const arch::TickCount t1 = arch::ticks();
    kprint("update: timing: committed in %llu ns\n",
           t1.hz != 0 ? static_cast<ull>((t1.count - t0.count) * 1000000000ull / t1.hz) : 0ull);
    return Status::Ok;
}

// keel.update_commit_ms=N: how long an updated image waits for the controller's Commit
// before it rolls back (docs/handover.md §4.7); 10 s unless given (1..3600000).
u64 update_commit_ms(const Cmdline& cmdline) {
    u64 ms = 10000;
    (void)cmdline.number("keel.update_commit_ms", 1, 3600000, &ms);
    return ms;
}

[[noreturn]] void serve_forever(VmManager& m, bool yield_between_polls) {
    kprint("mailbox: ready, waiting for the controller\n");
    for (;;) {
        (void)m.poll(); // VM ends first: the service then sees them as ended
        (void)service().poll();
        // Bench mode only: QEMU -icount runs every core on one thread in turn, and a core
        // that never yields keeps every slice. Not otherwise: under multi-threaded TCG a
        // hint even every 256th poll slowed the guests on the other cores threefold.
        if (yield_between_polls) arch::cpu_relax();
    }
}

} // namespace

void mailbox_run(const Platform& platform, u64 cores_online, u32 boot_cpu, bool yield_between_polls,
                 mailbox::SessionLimits limits, const char* cmdline) {
    g_cmdline = cmdline;
    VmManager& m = vm_manager();
    m.init(HostCores{cores_online, 1ull << boot_cpu});
    m.set_console(&g_sink);
    static VmControl control(m, platform);
    u8 key[crypto::kP384PublicKeySize];
    copy_key(keel_controller_key, key);
    mailbox::SharedRegion region(reinterpret_cast<volatile void*>(g_region_base), g_region_size);
    service().set_vfs(&vf_table()); // VFS lists what boot enabled (hypervisor/io/)
    static AuditVfEvents vf_events;
    set_vf_event_sink(&vf_events);
    Status s = service().attach(region, control, key, g_seed, limits);
    if (s != Status::Ok)
        panic("mailbox: attach failed: %s", status_name(s)); // size was checked at discovery
    (void)set_up_update(g_boot_floor);
    __atomic_store_n(&g_attached, true, __ATOMIC_RELEASE);
    kprint("mailbox: nonce ");
    mailbox::Header h;
    (void)region.copy_in(0, &h, sizeof h);
    kprint_hex(h.nonce, sizeof h.nonce);
    kprint(", controller key %s\n",
           key[0] == 4 ? "present" : "MISSING (nothing will authenticate)");
    kprint("mailbox: session offer 1 published (X25519); sessions last %u commands or %u ms\n",
           limits.max_commands, limits.max_age_ms);
    serve_forever(m, yield_between_polls);
}

void mailbox_continue(const update::HandoverView& record, const Platform& platform,
                      u64 cores_online, u32 boot_cpu, const char* cmdline_text, bool healthy,
                      u64 blackout_ns) {
    const update::OldImageRecord& old = *record.old_image;
    const bool rollback = (old.flags & update::kOldImageRollback) != 0;
    kprint("\nKeel hypervisor %s (%s), %s %llu from Keel %s: every VM adopted\n",
           update::keel_image_note.version, arch::kArchName,
           rollback ? "rolled back by live update" : "live update",
           static_cast<ull>(record.header.update_counter), old.version);
    const Cmdline cmdline(cmdline_text);
    g_cmdline = cmdline_text;
    // No trial for a rollback, nor where the outgoing image left no pristine copy to go back
    // to (x86_64 so far, docs/handover.md §5.1): the Apply's answer names no deadline then.
    const u64 commit_ms = rollback || old.restore_size == 0 ? 0 : update_commit_ms(cmdline);
    VmManager& m = vm_manager();
    m.init(HostCores{cores_online, 1ull << boot_cpu});
    m.set_console(&g_sink);
    static VmControl control(m, platform);
    // The crypto every command needs, checked as at boot; with a failure the guests run on,
    // but nothing is answered (the controller's Apply times out: docs/handover.md §4.6).
    crypto::SelfTestResult results[crypto::kSelfTestChecks];
    const Status selftest = crypto::crypto_self_test(results);
    // This image's seed (docs/mailbox.md §4.1): the CPU's source if any, and the outgoing
    // image's fresh bytes for it from the record, never its own seed again.
    entropy::Inputs in;
    in.cpu_count = arch::cpu_random(in.cpu, entropy::kCpuWords, &in.cpu_name);
    in.boot_seed = old.entropy;
    in.boot_seed_len = sizeof old.entropy;
    in.ticks = arch::ticks().count;
    const char* why = nullptr;
    const Status seeded = entropy::derive_seed(in, g_seed, &why);
    const update::MailboxRecord* mr = record.mailbox;
    Status s = !healthy                 ? Status::Timeout
               : selftest != Status::Ok ? selftest
               : seeded != Status::Ok   ? seeded
               : mr == nullptr          ? Status::InvalidArgument
                               : arch::mailbox_map_device(mr->region_base, mr->region_size);
    if (s == Status::Ok) {
        g_region_base = mr->region_base;
        g_region_size = mr->region_size;
        g_boot_arch = static_cast<u32>(arch::kBootArch);
        u8 key[crypto::kP384PublicKeySize];
        copy_key(keel_controller_key, key);
        mailbox::SharedRegion region(reinterpret_cast<volatile void*>(g_region_base),
                                     g_region_size);
        service().set_vfs(&vf_table());
        static AuditVfEvents vf_events;
        set_vf_event_sink(&vf_events);
        s = service().adopt(region, control, key, g_seed, mailbox_session_limits(cmdline), record,
                            update::keel_image_note.version, blackout_ns, commit_ms);
    }
    if (s != Status::Ok) {
        // Past the point of no return (§4.6): the guests run on this image; without a
        // mailbox it can only say so.
        kprint("update: mailbox NOT continued (%s%s%s): the guests run on, unmanaged\n",
               !healthy ? "a vCPU did not re-enter its guest" : status_name(s),
               why != nullptr ? ": " : "", why != nullptr ? why : "");
        for (;;) {
            (void)m.poll();
            arch::cpu_relax();
        }
    }
    __atomic_store_n(&g_attached, true, __ATOMIC_RELEASE);
    g_outgoing = old; // the record's buffer is written again by a rollback
    memset(g_outgoing.entropy, 0, sizeof g_outgoing.entropy);
    const bool bench = cmdline.has("keel.bench");
    // The trial (§4.7): the outgoing image stays in memory, its update region this image's,
    // until the controller's Commit; without it, the service rolls back to it. A rollback
    // (back on the image the controller had) or an outgoing image with no way back to it is
    // committed at once.
    if (!rollback) {
        update::Swap* swap = arch::live_update();
        mailbox::Service::UpdateSetup up;
        up.expect = update_expect(old.security_floor);
        up.swap = swap;
        up.region = reinterpret_cast<u8*>(old.update_region);
        up.region_size = old.update_region_size;
        up.outgoing = &g_outgoing;
        up.outgoing_abi = record.header.abi_version; // what it wrote, it reads (§4.7)
        up.cmdline = g_cmdline;
        const Status taken = swap->take_outgoing(g_outgoing, &up.record, &up.record_size);
        if (taken == Status::Ok) {
            service().set_update(up);
            service().begin_trial(commit_ms, commit_update);
            kprint("update: Keel %s not committed: UPDATE Commit within %llu ms, or Keel %s "
                   "comes back\n",
                   update::keel_image_note.version, static_cast<ull>(commit_ms), old.version);
            serve_forever(m, bench);
        }
        kprint("update: no way back to Keel %s (%s): committed at once\n", old.version,
               status_name(taken));
    }
    char what[64];
    (void)commit_update(what, sizeof what);
    serve_forever(m, bench);
}

} // namespace keel
