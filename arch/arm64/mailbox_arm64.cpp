// arm64 side of the controller mailbox (hypervisor/mailbox/arch_mailbox.hpp): device
// mappings at EL2, the PCIe bridge windows from the DTB, the per-boot nonce from RNDR,
// the generic timer as the clock, loading bytes into a created VM's RAM and booting
// them (a Linux Image gets a device tree), controller STOP and console input.
// Registered in hypervisor/sources.cmake's mailbox block, not arch/arm64/sources.cmake.
#include <libfdt.h>

#include "crypto/sha2.hpp"
#include "hypervisor/mailbox/arch_mailbox.hpp"
#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm_control.hpp"
#include "linux_loader.hpp"
#include "mmu.hpp"
#include "scrubber.hpp"
#include "sysreg.hpp"
#include "vm_arch.hpp"

namespace keel::arch {

Status mailbox_map_device(u64 addr, u64 size) {
    // Device-nGnRE: no speculation, no merging, every access reaches the device in order.
    return arm64::el2_map(addr, size, arm64::MapKind::Device);
}

u64 mailbox_addr_limit() { return 1ull << 39; } // EL2 stage-1 is a 39-bit identity map (mmu.hpp)

u32 pci_windows(const BootInfo& info, pci::Window* out, u32 max) {
    const void* fdt = reinterpret_cast<const void*>(info.dtb);
    if (fdt == nullptr || fdt_check_header(fdt) != 0) return 0;
    int node = fdt_node_offset_by_compatible(fdt, -1, "pci-host-ecam-generic");
    if (node < 0) return 0;
    int len = 0;
    const auto* r = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "ranges", &len));
    // Each entry: PCI address (3 cells: space code, hi, lo), CPU address (2 cells), size
    // (2 cells), per the PCI bus binding (IEEE 1275 PCI, §2.2.1.1).
    constexpr int kCells = 7;
    u32 n = 0;
    for (int i = 0; r != nullptr && (i + 1) * kCells * 4 <= len && n < max; ++i) {
        const fdt32_t* e = r + i * kCells;
        const u32 space = (fdt32_to_cpu(e[0]) >> 24) & 3;
        if (space != 2 && space != 3) continue; // 1 = I/O space: never used
        const u64 cpu = (static_cast<u64>(fdt32_to_cpu(e[3])) << 32) | fdt32_to_cpu(e[4]);
        const u64 pci = (static_cast<u64>(fdt32_to_cpu(e[1])) << 32) | fdt32_to_cpu(e[2]);
        if (cpu != pci) continue; // Keel programs BARs with CPU addresses: identity ranges only
        out[n].base = cpu;
        out[n].size = (static_cast<u64>(fdt32_to_cpu(e[5])) << 32) | fdt32_to_cpu(e[6]);
        out[n].is64 = space == 3;
        ++n;
    }
    return n;
}

void mailbox_nonce(u8 (&out)[16]) {
    // RNDR (FEAT_RNG, ID_AA64ISAR0_EL1.RNDR, D17.2.61); NZCV.Z set means "no entropy now".
    const bool rndr = ((KEEL_READ_SYSREG(id_aa64isar0_el1) >> 60) & 0xf) != 0;
    u64 words[2] = {};
    for (u64& w : words) {
        for (int tries = 0; rndr && tries < 64; ++tries) {
            u64 v, fail;
            asm volatile("mrs %0, s3_3_c2_c4_0\n cset %1, eq" : "=r"(v), "=r"(fail)::"cc");
            if (!fail) {
                w = v;
                break;
            }
        }
    }
    // Mixed with the counter either way, so a missing RNG still gives a per-boot value
    // (weaker: docs/mailbox.md §4 says so).
    u64 mix[3] = {words[0], words[1], KEEL_READ_SYSREG(cntpct_el0)};
    u8 h[crypto::kSha256Size];
    crypto::sha256(mix, sizeof mix, h);
    for (usize i = 0; i < sizeof out; ++i)
        out[i] = h[i];
}

u64 now_ms() {
    const u64 f = KEEL_READ_SYSREG(cntfrq_el0);
    const u64 t = KEEL_READ_SYSREG(cntpct_el0);
    return f ? (t / f) * 1000 + (t % f) * 1000 / f : 0;
}

Status vm_load_bytes(Vm& vm, u64 offset, const void* src, u64 len) {
    if (offset > vm.mem_size || len > vm.mem_size - offset) return Status::OutOfRange;
    const auto* p = static_cast<const u8*>(src);
    while (len != 0) {
        const PhysAddr pa = vm.mem_base + offset;
        const PhysAddr block(align_down(pa.raw(), 2 * MiB));
        const u64 in_block = pa - block;
        const u64 n = len < 2 * MiB - in_block ? len : 2 * MiB - in_block;
        KEEL_TRY(arm64::copy_to_pool_block(block, in_block, p, n));
        p += n, offset += n, len -= n;
    }
    return Status::Ok;
}

Status vm_discard(Vm& vm) {
    // Never started: no core runs it, so the boot core tears it down like a VM that ended.
    arm64::vm_teardown(vm, VmEnd::None);
    return Status::Ok;
}

// The controller's images sit where VmControl put them: the Image at RAM offset 0 (its
// load address when text_offset is 0, as for every kernel since 5.8), the initrd at
// `initrd_offset`. The device tree goes to the next 2 MiB boundary after the initrd.
Status vm_prepare_boot(Vm& vm, u64 kernel_bytes, u64 initrd_offset, u64 initrd_bytes,
                       const char* cmdline) {
    arm64::ImageHeader h{};
    if (kernel_bytes < sizeof h) return Status::Ok; // not an Image: the test guest's registers stay
    KEEL_TRY(arm64::read_phys(vm.mem_base, &h, sizeof h));
    if (h.magic != arm64::kImageMagic) return Status::Ok;
    KEEL_TRY(arm64::check_image_header(h));
    // Moving the Image to a non-zero text_offset would need a second copy; the kernel's
    // bss (image_size) must not reach the initrd.
    const u64 dtb_off = align_up(initrd_offset + initrd_bytes, 2 * MiB);
    if (h.text_offset != 0 || h.image_size > initrd_offset || kernel_bytes > h.image_size ||
        dtb_off + arm64::kLinuxDtbMax > vm.mem_size) {
        kprint("vm %u: Image does not fit: text_offset %#llx, image_size %llu KiB, initrd at +%llu "
               "MiB\n",
               vm.id, static_cast<unsigned long long>(h.text_offset),
               static_cast<unsigned long long>(h.image_size / KiB),
               static_cast<unsigned long long>(initrd_offset / MiB));
        return Status::OutOfRange;
    }
    alignas(8) static u8 dtb[arm64::kLinuxDtbMax]; // boot core only; no stack for 64 KiB
    arm64::VmArch& a = arm64::vm_arch(vm);
    const u64 ram = vm.ram_ipa().raw();
    const arm64::GuestDtbInfo info{ram,
                                   vm.mem_size,
                                   a.nvcpus,
                                   initrd_bytes ? ram + initrd_offset : 0,
                                   initrd_bytes ? ram + initrd_offset + initrd_bytes : 0,
                                   cmdline};
    KEEL_TRY(arm64::build_guest_dtb(info, dtb, sizeof dtb));
    KEEL_TRY(arm64::copy_to_pool(PhysAddr(vm.mem_base.raw() + dtb_off), dtb, sizeof dtb));
    arm64::vcpu_reset(a.vcpus[0], ram, ram + dtb_off); // x0 = DTB, x1-x3 = 0 (booting.rst)
    kprint("vm %u: linux Image %llu KiB, initrd %llu KiB, dtb at ipa %#llx, args \"%s\"\n", vm.id,
           static_cast<unsigned long long>(h.image_size / KiB),
           static_cast<unsigned long long>(initrd_bytes / KiB),
           static_cast<unsigned long long>(ram + dtb_off), cmdline);
    return Status::Ok;
}

// STOP (docs/vm-lifecycle.md): Keel emulates no power button, so the polite phase
// delivers nothing: the guest may still power itself off before the deadline. The
// forced stop sets the VM's stop request and kicks its cores out of the guest (the
// vGIC's kick SGI); each vCPU sees the request at its next exit and leaves, and the
// last one out tears the VM down like SYSTEM_OFF (memory scrubbed and returned).
Status vm_stop(Vm& vm, bool forced) {
    if (!forced || vm.state() == VmState::Destroyed) return Status::Ok;
    kprint("vm %u: forced stop by the controller\n", vm.id);
    // VmEnd has no "stopped by the controller"; the audit log and the line above say
    // who ended it, the end reads as a power-off the hypervisor performed.
    arm64::vm_request_stop(vm, VmEnd::ControllerStop);
    return Status::Ok;
}

Status vm_console_input(u32 vm_id, u8 byte) {
    Vm* vm = controlled_vm(vm_id);
    if (vm == nullptr || vm->state() != VmState::Running) return Status::BadState;
    const char c = static_cast<char>(byte);
    return arm64::vuart_push_rx(*vm, &c, 1) == 1 ? Status::Ok : Status::Busy;
}

} // namespace keel::arch
