#include "its.hpp"

#include <arch/sections.hpp>
#include <arch/vm.hpp>

#include "gic_regs.hpp"
#include "hypervisor/print.hpp"
#include "mmu.hpp"
#include "percpu.hpp"
#include "sysreg.hpp"

namespace keel::arm64 {
namespace {

using ull = unsigned long long;

// GITS_* (12.19).
constexpr u32 kGitsCtlr = 0x0000, kGitsTyper = 0x0008, kGitsCbaser = 0x0080;
constexpr u32 kGitsCwriter = 0x0088, kGitsCreadr = 0x0090, kGitsBaser = 0x0100;
constexpr u64 kGitsTranslater = 0x10040;
constexpr u64 kItsSize = 0x20000;
// GICR_* (12.11), in the RD_base frame.
constexpr u32 kGicrPropbaser = 0x0070, kGicrPendbaser = 0x0078;
constexpr u64 kValid = 1ull << 63;
constexpr u64 kWbInner = 7ull << 59;    // GITS_BASER/CBASER InnerCache: RaWaWb
constexpr u64 kShInner = 1ull << 10;    // Shareability: inner
constexpr u64 kGicrWbInner = 7ull << 7; // GICR_PROPBASER/PENDBASER InnerCache
constexpr u32 kIdBits = 13;             // LPI INTIDs below 2^14: 8192 config bytes
constexpr u32 kIttBytes = 256;          // one ITT per device (events x entry size)
constexpr u32 kMaxDevices = 8;

struct alignas(65536) Pending {
    u8 bits[(1u << (kIdBits + 1)) / 8];
};
struct alignas(4096) Tables {
    u8 cmdq[4096];
    u8 devices[4096];
    u8 collections[4096];
    u8 config[(1u << (kIdBits + 1)) - kLpiBase];
    alignas(256) u8 itt[kMaxDevices][kIttBytes];
};
// What the ITS and the redistributor read: the image's own unless msi_use_memory gave
// memory that outlives it (a live update's I/O region, docs/handover.md §1.1).
struct Memory {
    Pending pending;
    Tables tab;
};
static_assert(sizeof(Memory) <= arch::kMsiMemoryBytes && alignof(Memory) <= arch::kMsiMemoryAlign);
static_assert(kMaxDevices == update::kHandoverMaxMsiDevices);
KEEL_NOINIT Memory g_own;
Memory* g_mem = &g_own;

u64 g_its_found = 0;
u64 g_its = 0;
u32 g_cwriter = 0;
bool g_ready = false;
u64 g_rdbase = 0; // MAPC/SYNC target field for the boot core's redistributor
struct DeviceSlot {
    u32 id = 0;
    u32 first = 0, events = 0;
    bool used = false;
};
DeviceSlot g_devices[kMaxDevices];
u64 g_lpi_used = 0; // bit i: LPI kLpiBase + i handed out
// LPIs the vCPU loop took on the boot core (its_defer), oldest first. Boot core only.
u32 g_deferred[16];
u32 g_deferred_count = 0;

volatile u32& r32(u64 a) { return *reinterpret_cast<volatile u32*>(a); }
volatile u64& r64(u64 a) { return *reinterpret_cast<volatile u64*>(a); }
u64 pa(const void* p) { return reinterpret_cast<u64>(p); } // identity-mapped image

void zero(u8* p, usize n) { __builtin_memset(p, 0, n); }

Status command(u64 dw0, u64 dw1, u64 dw2) {
    auto* slot = reinterpret_cast<volatile u64*>(g_mem->tab.cmdq + g_cwriter);
    slot[0] = dw0;
    slot[1] = dw1;
    slot[2] = dw2;
    slot[3] = 0;
    g_cwriter = (g_cwriter + 32) % sizeof g_mem->tab.cmdq;
    dsb_ish();
    r64(g_its + kGitsCwriter) = g_cwriter;
    for (u32 i = 0; i < (1u << 22); ++i) {
        const u64 rd = r64(g_its + kGitsCreadr);
        if (rd & 1) return Status::HardwareFault; // Stalled: a command was refused
        if ((rd & 0xfffe0) == g_cwriter) return Status::Ok;
    }
    return Status::Timeout;
}
Status sync() { return command(0x05, 0, g_rdbase); }

Status program_baser(u32 n, u8* table) {
    const u64 v = r64(g_its + kGitsBaser + 8 * n);
    const u32 type = static_cast<u32>((v >> 56) & 7);
    if (type != 1 && type != 4) return Status::Ok; // only devices and collections are used
    zero(table, 4096);
    r64(g_its + kGitsBaser + 8 * n) = kValid | kWbInner | pa(table) | kShInner; // 4 KiB, 1 page
    return (r64(g_its + kGitsBaser + 8 * n) & kValid) ? Status::Ok : Status::Unsupported;
}

} // namespace

void its_found(u64 base) { g_its_found = base; }

Status its_init() {
    if (g_its_found == 0) return Status::NotFound;
    if (g_its != 0) return g_ready ? Status::Ok : Status::BadState; // tried before
    KEEL_TRY(el2_map(g_its_found, kItsSize, MapKind::Device));
    g_its = g_its_found;
    const u64 typer = r64(g_its + kGitsTyper);
    r32(g_its + kGitsCtlr) = 0;
    for (u32 i = 0; i < (1u << 20) && !(r32(g_its + kGitsCtlr) & (1u << 31)); ++i) {
    }
    zero(g_mem->tab.cmdq, sizeof g_mem->tab.cmdq);
    u32 baser_devices = 0;
    for (u32 n = 0; n < 8; ++n) {
        const u32 type = static_cast<u32>((r64(g_its + kGitsBaser + 8 * n) >> 56) & 7);
        KEEL_TRY(program_baser(n, type == 1 ? g_mem->tab.devices : g_mem->tab.collections));
        baser_devices += type == 1;
    }
    if (baser_devices == 0) return Status::Unsupported;
    r64(g_its + kGitsCbaser) = kValid | kWbInner | kShInner | pa(g_mem->tab.cmdq); // one 4 KiB page
    g_cwriter = 0;
    r64(g_its + kGitsCwriter) = 0;
    r32(g_its + kGitsCtlr) = 1; // Enabled
    // LPIs on this core's redistributor: priority 0xa0, disabled until mapped.
    const u64 rd = this_cpu().gicr;
    for (u8& b : g_mem->tab.config)
        b = 0xa0;
    zero(g_mem->pending.bits, sizeof g_mem->pending.bits);
    dsb_ish();
    r64(rd + kGicrPropbaser) = pa(g_mem->tab.config) | kGicrWbInner | kShInner | kIdBits;
    r64(rd + kGicrPendbaser) = pa(g_mem->pending.bits) | kGicrWbInner | kShInner | (1ull << 62);
    r32(rd + gic::kGicrCtlr) = r32(rd + gic::kGicrCtlr) | 1u; // EnableLPIs
    const bool pta = (typer >> 19) & 1;
    g_rdbase = pta ? (rd & 0xffffffff0000ull)
                   : (((r64(rd + gic::kGicrTyper) >> 8) & 0xffff) << 16); // Processor_Number
    KEEL_TRY(command(0x09, 0, kValid | g_rdbase | 0)); // MAPC ICID 0 -> this core
    KEEL_TRY(sync());
    g_ready = true;
    kprint("its: ITS at %#llx enabled: LPIs %u..%u on the boot core, doorbell %#llx\n",
           static_cast<ull>(g_its), kLpiBase, kLpiBase + kLpiCount - 1,
           static_cast<ull>(its_doorbell()));
    return Status::Ok;
}

bool its_ready() { return g_ready; }

u64 its_doorbell() { return g_its + kGitsTranslater; }

Status its_map_device(u32 device_id, u32 events, u32* first) {
    if (!its_ready()) return Status::BadState;
    if (events == 0 || events > 8 || device_id >= 512) return Status::OutOfRange;
    DeviceSlot* slot = nullptr;
    for (DeviceSlot& d : g_devices)
        if (!d.used && slot == nullptr) slot = &d;
    u32 at = 0;
    while (at + events <= kLpiCount && ((g_lpi_used >> at) & ((1ull << events) - 1)) != 0)
        ++at;
    if (slot == nullptr || at + events > kLpiCount) return Status::NoMemory;
    u8* itt = g_mem->tab.itt[slot - g_devices];
    zero(itt, kIttBytes);
    // MAPD: events as ID bits - 1 (8 events: 3 bits), ITT address [51:8], valid.
    KEEL_TRY(command(0x08 | (static_cast<u64>(device_id) << 32), 2, kValid | pa(itt)));
    for (u32 e = 0; e < events; ++e) {
        const u32 lpi = kLpiBase + at + e;
        g_mem->tab.config[lpi - kLpiBase] = 0xa0 | 1; // enabled
        // MAPTI DeviceID, EventID -> pINTID, ICID 0.
        KEEL_TRY(command(0x0a | (static_cast<u64>(device_id) << 32),
                         e | (static_cast<u64>(lpi) << 32), 0));
        KEEL_TRY(command(0x0c | (static_cast<u64>(device_id) << 32), e, 0)); // INV
    }
    KEEL_TRY(sync());
    g_lpi_used |= ((1ull << events) - 1) << at;
    *slot = DeviceSlot{device_id, kLpiBase + at, events, true};
    *first = kLpiBase + at;
    return Status::Ok;
}

void its_unmap_device(u32 device_id) {
    for (DeviceSlot& d : g_devices) {
        if (!d.used || d.id != device_id) continue;
        (void)command(0x08 | (static_cast<u64>(device_id) << 32), 0, 0); // MAPD V=0
        (void)sync();
        for (u32 e = 0; e < d.events; ++e)
            g_mem->tab.config[d.first + e - kLpiBase] = 0xa0;
        g_lpi_used &= ~(((1ull << d.events) - 1) << (d.first - kLpiBase));
        d = DeviceSlot{};
    }
}

bool its_defer(u32 lpi) {
    if (g_deferred_count == sizeof g_deferred / sizeof g_deferred[0]) return false;
    g_deferred[g_deferred_count++] = lpi;
    return true;
}

bool its_deferred() { return g_deferred_count != 0; }

u32 its_next() {
    if (g_deferred_count != 0) {
        const u32 id = g_deferred[0];
        --g_deferred_count;
        for (u32 i = 0; i < g_deferred_count; ++i)
            g_deferred[i] = g_deferred[i + 1];
        return id;
    }
    // A vCPU runs on this core (bench mode; this is its loop's device poll): the core's
    // interrupts are that loop's (vgic_irq_exit), which hands LPIs over with its_defer.
    if (__atomic_load_n(&this_cpu().work, __ATOMIC_ACQUIRE) != nullptr) return 0;
    for (u32 n = 0; n < 8; ++n) {
        const u32 id = static_cast<u32>(KEEL_READ_SYSREG(S3_0_C12_C12_0) & 0xffffff); // IAR1
        if (id >= gic::kIntidSpurious && id < kLpiBase) return 0;
        KEEL_WRITE_SYSREG(S3_0_C12_C12_1, id); // EOIR1: priority drop (an LPI has no active state)
        if (id >= kLpiBase) return id;
        KEEL_WRITE_SYSREG(S3_0_C12_C11_1, id); // DIR: nothing else is the boot core's here
    }
    return 0;
}

} // namespace keel::arm64

namespace keel::arch {

void msi_use_memory(u8* at) {
    if (!arm64::g_ready && at != nullptr) arm64::g_mem = reinterpret_cast<arm64::Memory*>(at);
}

Status msi_describe(update::IoRecord& r) {
    using namespace arm64;
    if (g_deferred_count != 0) return Status::Busy;
    r.msi_ready = g_ready ? 1 : 0;
    r.msi_base = g_ready ? g_its : 0;
    r.msi_target = g_ready ? g_rdbase : 0;
    r.msi_cwriter = g_ready ? g_cwriter : 0;
    r.msi_devices = kMaxDevices;
    for (u32 i = 0; i < kMaxDevices; ++i) {
        const DeviceSlot& d = g_devices[i];
        r.msi_map[i] =
            d.used ? update::IoMsiDevice{d.id, d.first, d.events, 0} : update::IoMsiDevice{};
    }
    return Status::Ok;
}

Status msi_adopt(const update::IoRecord& r) {
    using namespace arm64;
    if (r.msi_ready == 0) return Status::Ok; // brought up on first use, as at boot
    if (g_ready || r.msi_base != g_its_found || r.msi_devices != kMaxDevices ||
        r.msi_cwriter >= sizeof g_mem->tab.cmdq || r.msi_cwriter % 32 != 0)
        return Status::Corrupt;
    KEEL_TRY(el2_map(r.msi_base, kItsSize, MapKind::Device));
    // The ITS as the record says: enabled, its command queue the region's, every command
    // consumed up to the recorded write offset. Nothing is written to it.
    const u64 cbaser = r64(r.msi_base + kGitsCbaser);
    if ((r32(r.msi_base + kGitsCtlr) & 1u) == 0 || (cbaser & kValid) == 0 ||
        (cbaser & 0xffffffffff000ull) != pa(g_mem->tab.cmdq) ||
        r64(r.msi_base + kGitsCwriter) != r.msi_cwriter ||
        (r64(r.msi_base + kGitsCreadr) & 0xfffe0) != r.msi_cwriter)
        return Status::Corrupt;
    u64 used = 0;
    DeviceSlot devices[kMaxDevices];
    for (u32 i = 0; i < kMaxDevices; ++i) {
        const update::IoMsiDevice& d = r.msi_map[i];
        if (d.events == 0) continue;
        if (d.first < kLpiBase || d.first - kLpiBase + d.events > kLpiCount) return Status::Corrupt;
        const u64 bits = ((1ull << d.events) - 1) << (d.first - kLpiBase);
        if ((used & bits) != 0) return Status::Corrupt; // two devices on one LPI
        used |= bits;
        devices[i] = DeviceSlot{d.device_id, d.first, d.events, true};
    }
    g_its = r.msi_base;
    g_cwriter = r.msi_cwriter;
    g_rdbase = r.msi_target;
    for (u32 i = 0; i < kMaxDevices; ++i)
        g_devices[i] = devices[i];
    g_lpi_used = used;
    g_ready = true;
    return Status::Ok;
}

} // namespace keel::arch
