#include "hypervisor/vm/vm_control.hpp"

#include <string.h>

#include "hypervisor/mailbox/arch_mailbox.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/arch_vm.hpp"
#include "hypervisor/vm/partitions.hpp"

namespace keel {
namespace {

static_assert(mailbox::kMaxVms <= Vm::kMaxVms, "mailbox VM ids are arch slots and VMIDs");
Vm g_vms[mailbox::kMaxVms];
// Bulk bytes pass through here: copied once out of shared memory, hashed, then stored.
// Big enough that the per-copy cost of storing (a window map, a cache clean, a
// broadcast TLBI) is small beside the bytes: a 32 MiB Linux Image is 128 copies.
alignas(16) u8 g_staging[256 * KiB];

Status admit_error(VmDefError e) {
    switch (e) {
    case VmDefError::None: return Status::Ok;
    case VmDefError::ReservedCore:
    case VmDefError::CoreTaken: return Status::Busy;
    case VmDefError::NoSuchCore: return Status::NotFound;
    case VmDefError::NoMemory: return Status::NoMemory;
    default: return Status::InvalidArgument;
    }
}

u32 lowest_bit(u64 m) {
    u32 i = 0;
    while (!(m & 1))
        m >>= 1, ++i;
    return i;
}

// Where each image lands in the VM's RAM: the kernel at the start (the test guest's
// entry; the Linux loader moves it to +2 MiB), the initrd in the upper half.
u64 image_base(const Vm& vm, mailbox::ImageKind kind) {
    return kind == mailbox::ImageKind::Kernel ? 0 : vm.mem_size / 2;
}

} // namespace

void VmControl::init(u64 cores_online, u32 boot_cpu) {
    cores_online_ = cores_online;
    boot_cpu_ = boot_cpu;
}

Status VmControl::reserve(u32 id, u64 cpu_mask, u64 mem_bytes) {
    if (id == 0 || id > mailbox::kMaxVms || live_[id - 1]) return Status::BadState;
    Vm& vm = g_vms[id - 1];
    vm = Vm{};
    vm.id = static_cast<u16>(id);
    vm.def.cpu_mask = cpu_mask;
    vm.def.mem_bytes = mem_bytes;
    AdmitContext ctx;
    ctx.cores_present = cores_online_;
    ctx.cores_reserved = 1ull << boot_cpu_;
    ctx.cores_owned = cores_owned_;
    ctx.pool_free = pool_free_bytes();
    KEEL_TRY(admit_error(check_vm_def(vm.def, ctx)));
    auto mem = pool_alloc(mem_bytes, vm.id);
    if (!mem.ok()) return Status::NoMemory; // enough free, but not contiguous
    vm.mem_base = mem.value();
    vm.mem_size = mem_bytes;
    vm.first_cpu = lowest_bit(cpu_mask);
    Status s = arch::vm_create(vm);
    if (s != Status::Ok) {
        (void)pool_release(vm.id);
        return s;
    }
    cores_owned_ |= cpu_mask;
    live_[id - 1] = true;
    loaded_[id - 1][0] = loaded_[id - 1][1] = 0;
    kprint("vm %u: created by controller: cpus %#llx, %llu MiB\n", id,
           static_cast<unsigned long long>(cpu_mask),
           static_cast<unsigned long long>(mem_bytes / MiB));
    return Status::Ok;
}

Status VmControl::load(u32 id, mailbox::ImageKind kind, u64 image_offset,
                       const mailbox::SharedRegion& bulk, u64 bulk_offset, u64 length,
                       crypto::Sha256& hash) {
    Vm& vm = g_vms[id - 1];
    const u64 base = image_base(vm, kind);
    const u64 room = kind == mailbox::ImageKind::Kernel ? vm.mem_size / 2 : vm.mem_size - base;
    if (image_offset > room || length > room - image_offset) return Status::OutOfRange;
    for (u64 done = 0; done < length;) {
        const u64 n = length - done < sizeof g_staging ? length - done : sizeof g_staging;
        // Shared memory is read in whole words: a tail that is not one reads up to 3
        // bytes more of the window (its end is word-aligned), which are then ignored.
        KEEL_TRY(bulk.copy_in(bulk_offset + done, g_staging, align_up(n, 4)));
        hash.update(g_staging, n);
        KEEL_TRY(arch::vm_load_bytes(vm, base + image_offset + done, g_staging, n));
        done += n;
    }
    u64& extent = loaded_[id - 1][kind == mailbox::ImageKind::Kernel ? 0 : 1];
    if (image_offset + length > extent) extent = image_offset + length;
    return Status::Ok;
}

Status VmControl::start(u32 id, const char* cmdline) {
    Vm& vm = g_vms[id - 1];
    usize n = strlen(cmdline);
    if (n >= sizeof vm.def.text) n = sizeof vm.def.text - 1;
    memcpy(vm.def.text, cmdline, n); // kept for messages; the Linux loader passes the full line
    KEEL_TRY(arch::vm_prepare_boot(vm, loaded_[id - 1][0],
                                   image_base(vm, mailbox::ImageKind::Initrd), loaded_[id - 1][1],
                                   cmdline));
    vm.set_state(VmState::Running);
    Status s = arch::vm_start(vm);
    if (s != Status::Ok) vm.set_state(VmState::Defined);
    return s;
}

Status VmControl::stop(u32 id, bool forced) { return arch::vm_stop(g_vms[id - 1], forced); }

bool VmControl::ended(u32 id) { return g_vms[id - 1].state() == VmState::Destroyed; }

Status VmControl::release(u32 id) {
    Vm& vm = g_vms[id - 1];
    if (!live_[id - 1]) return Status::Ok;
    // A guest that ended already went through keel::vm_stopped() (memory scrubbed and
    // freed); one that never ran is torn down the same way now.
    if (vm.state() != VmState::Destroyed) KEEL_TRY(arch::vm_discard(vm));
    cores_owned_ &= ~vm.def.cpu_mask;
    live_[id - 1] = false;
    vm.id = 0; // controlled_vm() no longer finds it
    return Status::Ok;
}

Status VmControl::console_input(u32 id, u8 byte) { return arch::vm_console_input(id, byte); }

Vm* controlled_vm(u32 id) {
    if (id == 0 || id > mailbox::kMaxVms || g_vms[id - 1].id != id) return nullptr;
    return &g_vms[id - 1];
}

void VmControl::metrics(u32 id, mailbox::VmMetrics& out) {
    const VmStats& s = g_vms[id - 1].stats;
    out.exits = s.exits;
    out.hypercalls = s.hypercalls;
    out.aborts_injected = s.aborts_injected;
    out.console_lines = s.console_lines;
    out.irqs_injected = 0; // no virtual interrupt controller yet
}

mailbox::HostState VmControl::host() {
    mailbox::HostState h;
    h.cores_free_mask = cores_online_ & ~(1ull << boot_cpu_) & ~cores_owned_;
    h.pool_free_bytes = pool_free_bytes();
    h.pool_baseline_bytes = pool_baseline();
    return h;
}

u64 VmControl::now_ms() { return arch::now_ms(); }

} // namespace keel
