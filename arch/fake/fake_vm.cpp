// The fake arch's VM, cores and clock (arch/vm_interface.hpp, arch/smp_interface.hpp),
// so the VM manager and both of its clients run in host tests.
#include "fake_vm.hpp"

#include "hypervisor/vm/builtin_guest.hpp"

#include <arch/smp.hpp>
#include <arch/ticks.hpp>
#include <arch/vm.hpp>

#include <cstring>
#include <set>
#include <vector>

namespace keel::fake {
namespace {

std::vector<Vm*> g_running;
std::function<void()> g_wait;
u64 g_scrubbed = 0;
Status g_fail_create = Status::Ok;
u64 g_now = 0;
u8 g_default_guest[4096];
GuestBlob g_guest{};
u64 g_host_base = 0, g_host_size = 0;
const u8* g_host_bytes = nullptr;
u64 g_host_reads = 0;

std::set<u64> g_dirty; // 4 KiB pages holding guest data

void clean_pages(u64 base, u64 size) {
    g_dirty.erase(g_dirty.lower_bound(base), g_dirty.lower_bound(base + size));
}

class CountingScrubber final : public mm::Scrubber {
public:
    void zero(PhysAddr base, u64 size) override {
        g_scrubbed += size;
        clean_pages(base.raw(), size);
    }
};

void end_all_running() {
    std::vector<Vm*> all = g_running;
    for (Vm* vm : all)
        guest_end(*vm, VmEnd::GuestPowerOff);
}

} // namespace

void guest_end(Vm& vm, VmEnd why) {
    if (!vm.arch.running) return;
    vm.arch.running = false;
    std::erase(g_running, &vm);
    vm.report_end(why);
}

void on_wait(std::function<void()> fn) { g_wait = std::move(fn); }

void for_each_running(const std::function<void(Vm&)>& fn) {
    std::vector<Vm*> all = g_running;
    for (Vm* vm : all)
        fn(*vm);
}

u64 scrubbed_bytes() { return g_scrubbed; }
void guest_writes(u64 base, u64 size) {
    for (u64 a = base & ~0xfffull; a < base + size; a += 4096)
        g_dirty.insert(a);
}
u64 dirty_bytes(u64 base, u64 size) {
    return 4096 * static_cast<u64>(std::distance(g_dirty.lower_bound(base & ~0xfffull),
                                                 g_dirty.lower_bound(base + size)));
}
void fail_next_create(Status s) { g_fail_create = s; }
void set_now_ms(u64 ms) { g_now = ms; }
void set_host_memory(u64 base, const u8* bytes, u64 size) {
    g_host_base = base, g_host_bytes = bytes, g_host_size = size;
}
u64 host_reads() { return g_host_reads; }
void set_builtin_guest(const u8* data, u64 size) { g_guest = GuestBlob{data, size}; }

void reset() {
    g_running.clear();
    g_wait = end_all_running;
    g_scrubbed = 0;
    g_dirty.clear();
    g_fail_create = Status::Ok;
    g_now = 0;
    std::memset(g_default_guest, 0x5a, sizeof g_default_guest);
    g_guest = GuestBlob{g_default_guest, sizeof g_default_guest};
    g_host_bytes = nullptr;
    g_host_base = g_host_size = 0;
    g_host_reads = 0;
}

} // namespace keel::fake

namespace keel {
// The fake machine's built-in test guest (hypervisor/vm/builtin_guest.hpp).
GuestBlob builtin_test_guest() { return fake::g_guest; }
} // namespace keel

namespace keel::fake {
namespace {
// A created VM's context with a second stage over its RAM and `vcpus` vCPUs.
void live_context(Vm& vm, u32 vcpus) {
    arch::VmContext& c = vm.arch;
    c = arch::VmContext{};
    c.created = true;
    c.stage2_live = true;
    c.stage2_base = vm.mem_base.raw();
    c.stage2_size = vm.mem_size;
    c.vcpus = vcpus;
}
} // namespace
} // namespace keel::fake

namespace keel::arch {

using fake::g_fail_create;

mm::Scrubber& pool_scrubber() {
    static fake::CountingScrubber s;
    return s;
}

bool vm_zeroes_ram_on_first_use() { return false; }

Status vm_create(Vm& vm) {
    if (g_fail_create != Status::Ok) {
        const Status s = g_fail_create;
        g_fail_create = Status::Ok;
        return s;
    }
    fake::live_context(vm, static_cast<u32>(__builtin_popcountll(vm.cpu_mask)));
    vm.stage2_tables = 2;
    return Status::Ok;
}

Status vm_write(Vm& vm, u64 offset, const void* src, u64 len) {
    if (!vm.arch.stage2_live || offset > vm.mem_size || len > vm.mem_size - offset)
        return Status::OutOfRange;
    if (offset < sizeof vm.arch.ram_head) {
        const u64 n = std::min<u64>(len, sizeof vm.arch.ram_head - offset);
        std::memcpy(vm.arch.ram_head + offset, src, n);
    }
    fake::guest_writes(vm.mem_base.raw() + offset, len);
    vm.arch.bytes_loaded += len;
    return Status::Ok;
}

// Host "physical" memory in tests (fake::set_host_memory).
Status read_host(PhysAddr src, void* out, u64 len) {
    ++fake::g_host_reads;
    auto* p = static_cast<u8*>(out);
    for (u64 i = 0; i < len; ++i) {
        const u64 a = src.raw() + i;
        const bool set = fake::g_host_bytes && a >= fake::g_host_base &&
                         a - fake::g_host_base < fake::g_host_size;
        p[i] = set ? fake::g_host_bytes[a - fake::g_host_base] : static_cast<u8>(a);
    }
    return Status::Ok;
}

Status vm_copy_host(Vm& vm, u64 offset, PhysAddr src, u64 len) {
    u8 buf[256];
    for (u64 done = 0; done < len;) {
        const u64 n = std::min<u64>(len - done, sizeof buf);
        KEEL_TRY(read_host(src + done, buf, n));
        KEEL_TRY(vm_write(vm, offset + done, buf, n));
        done += n;
    }
    return Status::Ok;
}

// The fake's kernel format: "FAKELNX!" then the extent as a little-endian u64.
Result<GuestKind> detect_kernel(const u8* head, usize len) {
    if (len < 16 || std::memcmp(head, "FAKELNX!", 8) != 0) return GuestKind::Raw;
    return GuestKind::Linux;
}

Result<u64> kernel_extent(const u8* head, usize len) {
    if (len < 16 || std::memcmp(head, "FAKELNX!", 8) != 0) return Status::Corrupt;
    u64 e;
    std::memcpy(&e, head + 8, 8);
    return e;
}

Status vm_prepare(Vm& vm) {
    VmContext& c = vm.arch;
    if (vm.image.kind == GuestKind::Linux) {
        Result<u64> e = kernel_extent(vm.kernel_head, sizeof vm.kernel_head);
        if (!e.ok()) return e.status();
        if (e.value() > vm.mem_size) return Status::OutOfRange;
        c.boot_regs[0] = kGuestRamBase.raw() + vm.mem_size - 2 * MiB; // "DTB"
        c.boot_regs[1] = c.boot_regs[2] = c.boot_regs[3] = 0;
    } else {
        c.boot_regs[0] = vm.id;
        c.boot_regs[1] = kGuestRamBase.raw();
        c.boot_regs[2] = vm.mem_size;
        c.boot_regs[3] = vm.image.raw_mode;
    }
    c.prepared = true;
    return Status::Ok;
}

Status vm_start(Vm& vm) {
    if (!vm.arch.prepared || vm.arch.running) return Status::BadState;
    ++vm.arch.starts;
    vm.arch.running = true;
    fake::g_running.push_back(&vm);
    return Status::Ok;
}

void vm_request_stop(Vm& vm, VmEnd why) {
    ++vm.arch.stop_requests;
    fake::guest_end(vm, why); // the fake's vCPUs leave at once
}

// The fake machine takes the VM's vCPU count and second stage from the record, as if the
// recorded tables were its own.
Status vm_adopt(Vm& vm, const update::HandoverView& r) {
    for (u32 i = 0; i < r.vm_count; ++i) {
        if (r.vms[i]->id != vm.id) continue;
        fake::live_context(vm, r.vms[i]->vcpu_count);
        return Status::Ok;
    }
    return Status::NotFound;
}

void vm_destroy(Vm& vm) {
    // The manager destroys only VMs with no vCPU running.
    if (vm.arch.running) std::abort();
    vm.arch.stage2_live = false;
}

Status vm_ram_for_dma(Vm& vm) {
    vm.arch.ram_for_dma = true;
    return Status::Ok;
}

Status vm_map_device(Vm& vm, GuestPhys ipa, PhysAddr pa, u64 size) {
    vm.arch.device_ipa = ipa.raw();
    vm.arch.device_pa = pa.raw();
    vm.arch.device_size = size;
    return Status::Ok;
}

void vm_unmap_device(Vm& vm, GuestPhys, u64) {
    vm.arch.device_ipa = vm.arch.device_pa = vm.arch.device_size = 0;
}

Status msi_map(u32, u32, u64*, u32*) { return Status::Unsupported; }
void msi_unmap(u32) {}
u32 msi_next() { return 0; }
void msi_use_memory(u8*) {}
Status msi_describe(update::IoRecord&) { return Status::Ok; }
Status msi_adopt(const update::IoRecord& r) {
    return r.msi_ready != 0 ? Status::Unsupported : Status::Ok;
}
bool guest_msi(u64 address, u32 data, u32* intid) { // as arm64's frame
    if (address != kGuestMsiDoorbell || data < kGuestMsiFirst ||
        data >= kGuestMsiFirst + kGuestMsiCount)
        return false;
    *intid = data;
    return true;
}
void vm_raise_msi(Vm&, u32) {}

Status vm_power_button(Vm& vm) {
    ++vm.arch.button_presses;
    if (vm.arch.obeys_button) fake::guest_end(vm, VmEnd::GuestPowerOff);
    return Status::Ok;
}

usize vm_console_input(Vm& vm, const char*, usize len) {
    vm.arch.console_in += len;
    return len;
}

bool partitions_supported() { return true; }
u64 smp_start(const Platform&) { return 0; }
u32 boot_cpu_index() { return 0; }
void wait_for_event() {
    if (fake::g_wait) fake::g_wait();
}
void send_event() {}
bool boot_core_runs_vcpus() { return false; }
void run_local_work() {}
u64 now_ms() { return fake::g_now; }

} // namespace keel::arch
