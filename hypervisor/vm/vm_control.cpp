#include "hypervisor/vm/vm_control.hpp"

#include <arch/sections.hpp>
#include <arch/ticks.hpp>
#include <string.h>

#include "hypervisor/cmdline.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/partitions.hpp"
#include "hypervisor/vm/vm_def.hpp"

namespace keel {
namespace {

static_assert(mailbox::kMaxVms <= Vm::kMaxVms, "mailbox VM ids are the manager's ids");
static_assert(mailbox::kNoNode == VmManager::kNoNode, "docs/mailbox.md §3.8");
// Bulk bytes pass through here: copied once out of shared memory, hashed, then stored.
// Big enough that the per-copy cost of storing (a window map, a cache clean, a
// broadcast TLBI) is small beside the bytes: a 32 MiB Linux Image is 128 copies.
KEEL_NOINIT alignas(16) u8 g_staging[256 * KiB];

// Where each image lands in the VM's RAM: the kernel at the start, the initrd in the
// upper half (a kernel's image_size must stay below it: checked at START).
u64 image_base(u64 mem_size, mailbox::ImageKind kind) {
    return kind == mailbox::ImageKind::Kernel ? 0 : mem_size / 2;
}

} // namespace

Status VmControl::reserve(u32 id, u64 cpu_mask, u64 mem_bytes) {
    if (id == 0 || id > mailbox::kMaxVms) return Status::BadState;
    KEEL_TRY(m_.create(id, cpu_mask, mem_bytes));
    loaded_[id - 1][0] = loaded_[id - 1][1] = 0;
    kprint("vm %u: created by controller: cpus %#llx, %llu MiB\n", id,
           static_cast<unsigned long long>(cpu_mask),
           static_cast<unsigned long long>(mem_bytes / MiB));
    return Status::Ok;
}

Status VmControl::load(u32 id, mailbox::ImageKind kind, u64 image_offset,
                       const mailbox::SharedRegion& bulk, u64 bulk_offset, u64 length,
                       crypto::Sha256& hash) {
    const Vm* vm = m_.find(id);
    if (vm == nullptr) return Status::BadState;
    const u64 base = image_base(vm->mem_size, kind);
    const u64 room = kind == mailbox::ImageKind::Kernel ? vm->mem_size / 2 : vm->mem_size - base;
    if (image_offset > room || length > room - image_offset) return Status::OutOfRange;
    for (u64 done = 0; done < length;) {
        const u64 n = length - done < sizeof g_staging ? length - done : sizeof g_staging;
        // Shared memory is read in whole words: a tail that is not one reads up to 3
        // bytes more of the window (its end is word-aligned), which are then ignored.
        KEEL_TRY(bulk.copy_in(bulk_offset + done, g_staging, align_up(n, 4)));
        hash.update(g_staging, n);
        KEEL_TRY(m_.load(id, base + image_offset + done, g_staging, n));
        done += n;
    }
    u64& extent = loaded_[id - 1][kind == mailbox::ImageKind::Kernel ? 0 : 1];
    if (image_offset + length > extent) extent = image_offset + length;
    return Status::Ok;
}

Status VmControl::start(u32 id, const char* cmdline) {
    const Vm* vm = m_.find(id);
    if (vm == nullptr) return Status::BadState;
    // What the kernel is comes from its header as it was loaded: an arch kernel format
    // boots by the arch's protocol, anything else as a raw guest.
    Result<GuestKind> kind = arch::detect_kernel(vm->kernel_head, sizeof vm->kernel_head);
    if (!kind.ok()) return kind.status();
    GuestImage img;
    img.kind = kind.value();
    img.kernel_bytes = loaded_[id - 1][0];
    img.initrd_bytes = loaded_[id - 1][1];
    img.initrd_offset = img.initrd_bytes ? image_base(vm->mem_size, mailbox::ImageKind::Initrd) : 0;
    usize n = strlen(cmdline);
    if (n >= sizeof img.cmdline) n = sizeof img.cmdline - 1;
    memcpy(img.cmdline, cmdline, n);
    // A raw guest (the in-tree test guest) takes its mode from `keel.guest=<mode>`, as a
    // boot-time definition's `guest:<mode>` (vm_def.hpp); any other value leaves Basic.
    char mode[16];
    GuestMode gm = GuestMode::Basic;
    if (img.kind == GuestKind::Raw && Cmdline(img.cmdline).value("keel.guest", mode, sizeof mode) &&
        parse_guest_mode(mode, strlen(mode), &gm))
        img.raw_mode = static_cast<u32>(gm);
    m_.set_label(id, cmdline);
    return m_.start(id, img);
}

Status VmControl::stop(u32 id, bool forced) { return m_.stop(id, forced); }

mailbox::VmLifeState VmControl::state(u32 id) { return m_.state(id); }

Status VmControl::seal(u32 id) { return m_.seal(id); }

Status VmControl::release(u32 id) {
    if (m_.state(id) == VmState::Free) return Status::Ok;
    return m_.destroy(id);
}

Status VmControl::attach_vf(u32 id, u16 rid, u32* why) { return m_.attach_device(id, rid, why); }

Status VmControl::detach_vf(u32 id, u16 rid, u32* why) { return m_.detach_device(id, rid, why); }

u32 VmControl::dma_faults(u32 id) {
    const Vm* vm = m_.find(id);
    return vm != nullptr ? vm->stats.dma_faults : 0;
}

Status VmControl::console_input(u32 id, u8 byte) {
    if (m_.state(id) != VmState::Running) return Status::BadState;
    if (!arch::kConsoleInput) return Status::Unsupported;
    const char c = static_cast<char>(byte);
    return m_.console_input(id, &c, 1) == 1 ? Status::Ok : Status::Busy;
}

void VmControl::metrics(u32 id, mailbox::VmMetrics& out) {
    const Vm* vm = m_.find(id);
    if (vm == nullptr) return;
    const VmStats& s = vm->stats;
    out.exits = s.exits;
    out.hypercalls = s.hypercalls;
    out.aborts_injected = s.aborts_injected;
    out.console_lines = s.console_lines;
    out.irqs_injected = 0; // not counted yet
}

void VmControl::platform(mailbox::PlatformReply& out) {
    const Platform& p = platform_;
    auto nibble = [](u32 v) { return static_cast<u8>(v < 15 ? v : 15); };
    out.cpus = p.cpu_count < mailbox::kPlatformCpus ? p.cpu_count : mailbox::kPlatformCpus;
    for (u32 i = 0; i < out.cpus; ++i) {
        const CpuDesc& c = p.cpus[i];
        out.packages = c.package + 1 > out.packages ? c.package + 1 : out.packages;
        out.cores = c.core + 1 > out.cores ? c.core + 1 : out.cores;
        out.nodes = c.node + 1 > out.nodes ? c.node + 1 : out.nodes;
        out.cpu_core[i] = static_cast<u8>(c.core < 255 ? c.core : 255);
        out.cpu_package_node[i] = static_cast<u8>(nibble(c.package) | (nibble(c.node) << 4));
    }
    out.irq_kind = static_cast<u32>(p.irq_kind);
    out.smmus = p.smmu_count;
    out.flags = p.topology_known ? 1 : 0;
    out.hypervisor_cpus = m_.hypervisor_cpus();
}

mailbox::HostState VmControl::host() {
    mailbox::HostState h;
    h.cores_free_mask = m_.cores_free();
    h.pool_free_bytes = pool_free_bytes();
    h.pool_baseline_bytes = pool_baseline();
    return h;
}

u64 VmControl::now_ms() { return arch::now_ms(); }

} // namespace keel
