#include "hypervisor/vm/vm_manager.hpp"

#include <string.h>

#include "hypervisor/print.hpp"
#include "hypervisor/vm/partitions.hpp"

namespace keel {
namespace {

using ull = unsigned long long;

u32 lowest_bit(u64 m) { return static_cast<u32>(__builtin_ctzll(m)); }

void copy_text(char* dst, usize cap, const char* src) {
    usize n = 0;
    for (; src != nullptr && src[n] != '\0' && n + 1 < cap; ++n)
        dst[n] = src[n];
    dst[n] = '\0';
}

} // namespace

const char* vm_end_name(VmEnd e) {
    switch (e) {
    case VmEnd::None: return "running";
    case VmEnd::GuestPowerOff: return "guest power-off";
    case VmEnd::GuestReset: return "guest reset";
    case VmEnd::Fault: return "fault";
    case VmEnd::ControllerStop: return "stopped by the controller";
    }
    return "?";
}

VmManager& vm_manager() {
    static VmManager m;
    return m;
}

void VmManager::set_topology(const Platform& platform) {
    static_assert(Platform::kMaxCpus <= kMaxSiblingCpus);
    LockGuard g(lock_);
    for (u32 i = 0; i < kMaxSiblingCpus; ++i)
        siblings_[i] = 0;
    for (u32 i = 0; i < platform.cpu_count; ++i)
        for (u32 j = 0; j < platform.cpu_count; ++j)
            if (platform.cpus[j].core == platform.cpus[i].core) siblings_[i] |= 1ull << j;
    for (u32 i = 0; i < kMaxSiblingCpus; ++i)
        cpu_node_[i] = i < platform.cpu_count ? platform.cpus[i].node : 0;
    mem_node_count_ = platform.mem_node_count;
    for (u32 i = 0; i < mem_node_count_; ++i)
        mem_nodes_[i] = platform.mem_nodes[i];
}

u32 VmManager::mem_node(u32 id) const {
    LockGuard g(lock_);
    const Vm* vm = id == 0 || id > Vm::kMaxVms ? nullptr : &vms_[id - 1];
    if (vm == nullptr || vm->mem_size == 0) return kNoNode;
    const u64 base = vm->mem_base.raw();
    for (u32 i = 0; i < mem_node_count_; ++i)
        if (base >= mem_nodes_[i].base && base - mem_nodes_[i].base < mem_nodes_[i].size)
            return mem_nodes_[i].node;
    return kNoNode;
}

void VmManager::init(HostCores cores) {
    LockGuard g(lock_);
    cores_ = cores;
}

void VmManager::set_console(ConsoleSink* sink) {
    LockGuard g(lock_);
    console_ = sink;
    for (Vm& vm : vms_)
        if (vm.state != VmState::Free) vm.console = sink;
}

Vm* VmManager::slot(u32 id) { return id == 0 || id > Vm::kMaxVms ? nullptr : &vms_[id - 1]; }

Status VmManager::apply(const Held&, Vm& vm, VmEvent e) {
    Result<VmState> next = vm_transition(vm.state, e);
    if (!next.ok()) return next.status();
    vm.state = next.value();
    return Status::Ok;
}

Status VmManager::create(u32 id, u64 cpu_mask, u64 mem_bytes, VmDefError* why) {
    LockGuard g(lock_);
    const Held h;
    Vm* vm = slot(id);
    if (vm == nullptr) return Status::OutOfRange;
    KEEL_TRY(vm_transition(vm->state, VmEvent::Create).status());
    VmDef def;
    def.cpu_mask = cpu_mask;
    def.mem_bytes = mem_bytes;
    AdmitContext ctx;
    ctx.cores_present = cores_.online;
    ctx.cores_reserved = whole_cores(cores_.reserved, siblings_);
    ctx.cores_owned = cores_owned_;
    ctx.siblings = siblings_;
    ctx.pool_free = pool_free_bytes();
    VmDefError e = cpu_mask == 0 ? VmDefError::Malformed : check_vm_def(def, ctx);
    if (e == VmDefError::None && (mem_bytes == 0 || mem_bytes % (2 * MiB) != 0))
        e = VmDefError::BadMemSize;
    if (why != nullptr) *why = e;
    if (e != VmDefError::None) return vm_def_error_status(e);
    // NUMA: the node of the VM's first CPU, if the firmware described nodes.
    mm::Span near[Platform::kMaxMem];
    u32 near_count = 0;
    const u32 node = cpu_node_[lowest_bit(cpu_mask)];
    for (u32 i = 0; i < mem_node_count_; ++i)
        if (mem_nodes_[i].node == node)
            near[near_count++] = mm::Span{mem_nodes_[i].base, mem_nodes_[i].size};
    Result<PhysAddr> mem =
        pool_alloc(mem_bytes, static_cast<mm::OwnerId>(id),
                   arch::vm_zeroes_ram_on_first_use() ? mm::Zeroing::ByOwner : mm::Zeroing::Now,
                   near, near_count);
    if (!mem.ok()) {
        if (why != nullptr) *why = VmDefError::NoContiguousMemory;
        return Status::NoMemory;
    }
    vm->id = static_cast<u16>(id);
    vm->cpu_mask = cpu_mask;
    vm->first_cpu = lowest_bit(cpu_mask);
    vm->mem_base = mem.value();
    vm->mem_size = mem_bytes;
    if (near_count != 0) {
        bool local = false;
        for (u32 i = 0; i < near_count; ++i)
            local |= mem.value().raw() >= near[i].base &&
                     mem.value().raw() - near[i].base < near[i].size;
        kprint("vm %u: memory %s NUMA node %u, its cores' node\n", id, local ? "on" : "not on",
               node);
    }
    vm->stats = VmStats{};
    vm->end = VmEnd::None;
    vm->image = GuestImage{};
    memset(vm->kernel_head, 0, sizeof vm->kernel_head);
    vm->console = console_;
    vm->ended_ = 0;
    vm->end_pending_ = VmEnd::None;
    const Status s = arch::vm_create(*vm);
    if (s != Status::Ok) {
        (void)pool_release(static_cast<mm::OwnerId>(id));
        vm->id = 0;
        return s;
    }
    cores_owned_ |= whole_cores(cpu_mask, siblings_);
    vm->pci = devices_ != nullptr ? devices_->vm_created(*vm) : nullptr;
    return apply(h, *vm, VmEvent::Create);
}

Status VmManager::adopt(const update::VmRecord& rec) {
    LockGuard g(lock_);
    Vm* vm = slot(rec.id);
    if (vm == nullptr) return Status::OutOfRange;
    const VmState st = static_cast<VmState>(rec.state);
    if (vm->state != VmState::Free || st < VmState::Loading || st > VmState::Stopped)
        return Status::BadState;
    const u64 cores = whole_cores(rec.cpu_mask, siblings_);
    if (rec.cpu_mask == 0 || rec.first_cpu >= 64 || (rec.cpu_mask >> rec.first_cpu & 1) == 0 ||
        (cores & cores_owned_) != 0)
        return Status::InvalidArgument;
    const auto owner = static_cast<mm::OwnerId>(rec.id);
    if (rec.mem_size == 0 || rec.mem_size % (2 * MiB) != 0 || rec.mem_base % (2 * MiB) != 0 ||
        pool_owner_of(PhysAddr(rec.mem_base)) != owner || pool_owned_bytes(owner) != rec.mem_size)
        return Status::InvalidArgument;
    vm->id = static_cast<u16>(rec.id);
    vm->cpu_mask = rec.cpu_mask;
    vm->first_cpu = rec.first_cpu;
    vm->mem_base = PhysAddr(rec.mem_base);
    vm->mem_size = rec.mem_size;
    vm->stats = VmStats{};
    vm->end = VmEnd::None;
    vm->image = GuestImage{};
    memset(vm->kernel_head, 0, sizeof vm->kernel_head);
    memset(vm->label, 0, sizeof vm->label);
    for (usize n = 0; n < sizeof rec.name && rec.name[n] != '\0'; ++n) // not always terminated
        vm->label[n] = rec.name[n];
    vm->console = console_;
    vm->ended_ = 0;
    vm->end_pending_ = VmEnd::None;
    vm->state = st;
    cores_owned_ |= cores;
    return Status::Ok;
}

void VmManager::adopt_devices(VmDevices* d) {
    LockGuard g(lock_);
    devices_ = d;
    for (u32 id = 1; id <= Vm::kMaxVms; ++id)
        if (Vm* vm = slot(id); vm != nullptr && vm->state != VmState::Free)
            vm->pci = d != nullptr ? d->vm_adopted(*vm) : nullptr;
}

Status VmManager::adopt_arch(u32 id, const update::HandoverView& r) {
    LockGuard g(lock_);
    Vm* vm = slot(id);
    if (vm == nullptr || vm->state == VmState::Free) return Status::NotFound;
    const Status s = arch::vm_adopt(*vm, r);
    if (s != Status::Ok) {
        cores_owned_ &= ~whole_cores(vm->cpu_mask, siblings_);
        vm->state = VmState::Free;
        vm->id = 0;
    }
    return s;
}

void VmManager::capture_head(Vm& vm, u64 offset, const void* bytes, u64 len) {
    if (offset >= GuestImage::kHeadBytes) return;
    const u64 n = len < GuestImage::kHeadBytes - offset ? len : GuestImage::kHeadBytes - offset;
    memcpy(vm.kernel_head + offset, bytes, n);
}

Result<Vm*> VmManager::loadable(const Held&, u32 id, u64 offset, u64 len) {
    Vm* vm = slot(id);
    if (vm == nullptr) return Status::OutOfRange;
    KEEL_TRY(vm_transition(vm->state, VmEvent::LoadChunk).status());
    if (offset > vm->mem_size || len > vm->mem_size - offset) return Status::OutOfRange;
    return vm;
}

Status VmManager::load(u32 id, u64 offset, const void* bytes, u64 len) {
    LockGuard g(lock_);
    Result<Vm*> r = loadable(Held{}, id, offset, len);
    if (!r.ok()) return r.status();
    Vm* vm = r.value();
    KEEL_TRY(arch::vm_write(*vm, offset, bytes, len));
    capture_head(*vm, offset, bytes, len);
    return Status::Ok;
}

Status VmManager::load_host(u32 id, u64 offset, PhysAddr src, u64 len) {
    LockGuard g(lock_);
    Result<Vm*> r = loadable(Held{}, id, offset, len);
    if (!r.ok()) return r.status();
    Vm* vm = r.value();
    KEEL_TRY(arch::vm_copy_host(*vm, offset, src, len));
    if (offset < GuestImage::kHeadBytes) {
        u8 head[GuestImage::kHeadBytes];
        const u64 n = len < sizeof head - offset ? len : sizeof head - offset;
        KEEL_TRY(arch::read_host(src, head, n));
        capture_head(*vm, offset, head, n);
    }
    return Status::Ok;
}

Status VmManager::seal(u32 id) {
    LockGuard g(lock_);
    Vm* vm = slot(id);
    if (vm == nullptr) return Status::OutOfRange;
    return apply(Held{}, *vm, VmEvent::LoadComplete);
}

Status VmManager::start(u32 id, const GuestImage& image) {
    LockGuard g(lock_);
    const Held h;
    Vm* vm = slot(id);
    if (vm == nullptr) return Status::OutOfRange;
    KEEL_TRY(vm_transition(vm->state, VmEvent::Start).status());
    if (image.initrd_bytes != 0 && (image.initrd_offset > vm->mem_size ||
                                    image.initrd_bytes > vm->mem_size - image.initrd_offset))
        return Status::OutOfRange;
    vm->image = image;
    vm->image.cmdline[sizeof vm->image.cmdline - 1] = '\0';
    const u64 ram_was = vm->ram_ipa().raw();
    KEEL_TRY(arch::vm_prepare(*vm));
    if (devices_ != nullptr && vm->ram_ipa().raw() != ram_was) KEEL_TRY(devices_->vm_moved(*vm));
    KEEL_TRY(arch::vm_start(*vm));
    return apply(h, *vm, VmEvent::Start);
}

Status VmManager::stop(u32 id, bool forced) {
    LockGuard g(lock_);
    Vm* vm = slot(id);
    if (vm == nullptr) return Status::OutOfRange;
    // A second, forced STOP of a VM already stopping is how a client ends the wait.
    if (!(forced && vm->state == VmState::Stopping)) KEEL_TRY(apply(Held{}, *vm, VmEvent::Stop));
    // Polite: the VM's power button is pressed and the guest may power itself off; the
    // controller forces the stop once its timeout passes (docs/vm-lifecycle.md "STOP").
    // Where the arch has no button (x86_64 until ACPI) the polite phase delivers nothing.
    if (!forced && !vm->end_reported()) {
        const Status b = arch::vm_power_button(*vm);
        kprint("vm %u: %s\n", vm->id,
               b == Status::Ok ? "power button pressed by the controller"
                               : "no power button to press: waiting for the guest or the timeout");
    }
    if (forced && !vm->end_reported()) {
        kprint("vm %u: forced stop by the controller\n", vm->id);
        arch::vm_request_stop(*vm, VmEnd::ControllerStop);
    }
    return Status::Ok;
}

// Devices reset and quarantined, second stage gone, memory scrubbed back into the pool,
// cores free. The devices go first: a VF may DMA until its stream aborts, so the memory
// it could reach must still be this VM's until then.
void VmManager::release(const Held&, Vm& vm) {
    if (devices_ != nullptr) devices_->vm_ending(vm);
    arch::vm_destroy(vm);
    (void)pool_release(static_cast<mm::OwnerId>(vm.id));
    cores_owned_ &= ~whole_cores(vm.cpu_mask, siblings_);
}

void VmManager::end_vm(const Held& h, Vm& vm) {
    vm.end = vm.reported_end();
    release(h, vm);
    kprint("vm %u: destroyed (%s), pool back to %llu MiB\n", vm.id, vm_end_name(vm.end),
           static_cast<ull>(pool_free_bytes() / MiB));
    (void)apply(h, vm, VmEvent::GuestEnded);
}

void VmManager::poll_devices() {
    if (devices_ != nullptr) devices_->poll();
}

u32 VmManager::poll() {
    // Device faults first: a VM that just ended still owns its devices here, so a fault
    // its VF raised on the way out is charged to it before the reap takes them back.
    if (devices_ != nullptr) devices_->poll();
    u32 n = 0;
    for (u32 id = 1; id <= Vm::kMaxVms; ++id) {
        const Vm* ended = nullptr;
        {
            LockGuard g(lock_);
            Vm& vm = vms_[id - 1];
            const bool live = vm.state == VmState::Running || vm.state == VmState::Stopping;
            if (!live || !vm.end_reported()) continue;
            end_vm(Held{}, vm);
            ended = &vm;
            ++n;
        }
        if (observer_ != nullptr) observer_->vm_ended(*ended); // outside the lock: it may call back
    }
    return n;
}

Status VmManager::destroy(u32 id) {
    LockGuard g(lock_);
    const Held h;
    Vm* vm = slot(id);
    if (vm == nullptr) return Status::OutOfRange;
    const VmState before = vm->state;
    KEEL_TRY(apply(h, *vm, VmEvent::Destroy));
    if (before != VmState::Stopped) release(h, *vm); // never ran: nothing was reaped
    // Nothing of the old VM survives in the slot.
    vm->id = 0;
    vm->cpu_mask = 0;
    vm->mem_base = PhysAddr{};
    vm->mem_size = 0;
    vm->stage2_tables = 0;
    vm->image = GuestImage{};
    memset(vm->kernel_head, 0, sizeof vm->kernel_head);
    memset(vm->label, 0, sizeof vm->label);
    vm->initial_input = nullptr;
    vm->console = nullptr;
    vm->pci = nullptr;
    return Status::Ok;
}

namespace {
constexpr u32 kWhyVmState = 7;   // sriov::VfError::VmState (docs/mailbox.md §3.11)
constexpr u32 kWhyNoDevices = 1; // sriov::VfError::UnknownBdf: no assignable function at all
constexpr u32 kWhyNotOwned = 6;  // sriov::VfError::NotOwned
} // namespace

Status VmManager::device_op(u32 id, u16 rid, u32* why, bool attach) {
    LockGuard g(lock_);
    Vm* vm = slot(id);
    *why = devices_ == nullptr ? kWhyNoDevices : kWhyVmState;
    if (devices_ == nullptr) return Status::NotFound;
    // A stopped VM's devices were taken back at its end: none of them is its own any more.
    if (!attach && vm != nullptr && vm->state == VmState::Stopped) *why = kWhyNotOwned;
    // Running: hot-plug (the guest's slot reports the card arriving or gone). A VM that is
    // stopping keeps what it has until its end takes it all back.
    if (vm == nullptr || (vm->state != VmState::Loading && vm->state != VmState::Ready &&
                          (vm->state != VmState::Running || vm->end_reported())))
        return Status::BadState;
    *why = 0;
    if (!attach) return devices_->detach(*vm, rid, why);
    // A device writes memory the guest has not touched yet: all of it zeroed and mapped
    // now, never over what the device wrote later.
    KEEL_TRY(arch::vm_ram_for_dma(*vm));
    return devices_->attach(*vm, rid, why);
}

void VmManager::count_dma_fault(u32 id, u32 n) {
    LockGuard g(lock_);
    Vm* vm = slot(id);
    if (vm != nullptr && vm->state != VmState::Free)
        __atomic_fetch_add(&vm->stats.dma_faults, n, __ATOMIC_RELAXED);
}

void VmManager::raise_msi(u32 id, u32 intid) {
    LockGuard g(lock_);
    Vm* vm = slot(id);
    if (vm == nullptr || vm->state != VmState::Running) return;
    arch::vm_raise_msi(*vm, intid);
    stat_inc(vm->stats.msis);
}

usize VmManager::console_input(u32 id, const char* bytes, usize len) {
    LockGuard g(lock_);
    Vm* vm = slot(id);
    if (vm == nullptr || vm->state != VmState::Running || vm->end_reported()) return 0;
    return arch::vm_console_input(*vm, bytes, len);
}

void VmManager::set_label(u32 id, const char* text) {
    LockGuard g(lock_);
    if (Vm* vm = slot(id)) copy_text(vm->label, sizeof vm->label, text);
}

void VmManager::set_initial_input(u32 id, const char* text) {
    LockGuard g(lock_);
    if (Vm* vm = slot(id)) vm->initial_input = text;
}

VmState VmManager::state(u32 id) const {
    LockGuard g(lock_);
    return id == 0 || id > Vm::kMaxVms ? VmState::Free : vms_[id - 1].state;
}

const Vm* VmManager::find(u32 id) const {
    LockGuard g(lock_);
    if (id == 0 || id > Vm::kMaxVms || vms_[id - 1].state == VmState::Free) return nullptr;
    return &vms_[id - 1];
}

u32 VmManager::live_count() const {
    LockGuard g(lock_);
    u32 n = 0;
    for (const Vm& vm : vms_)
        n += vm.state != VmState::Free;
    return n;
}

} // namespace keel
