// arm64 boot state for the VM manager (arch/vm_interface.hpp: detect_kernel,
// kernel_extent, vm_prepare). Guest RAM layout, from the VM's RAM base, as the client
// loaded it (GuestImage):
//
//   +0                      Image (text_offset 0, as for every kernel since 5.8)
//   +initrd_offset          initramfs (if any), beyond the Image's image_size
//   next 2 MiB boundary     device tree (exactly its totalsize; the rest reads zero)
//
// The Image header comes from the bytes the manager captured while loading
// (Vm::kernel_head), never from guest RAM.
#include <arch/sections.hpp>
#include <arch/vm.hpp>
#include <libfdt.h>
#include <string.h>

#include "hypervisor/print.hpp"
#include "linux_loader.hpp"
#include "scrubber.hpp"
#include "vm_arch.hpp"

namespace keel::arm64 {
namespace {

using ull = unsigned long long;
KEEL_NOINIT alignas(8) u8 g_dtb[kLinuxDtbMax]; // boot core only (manager lock held)

ImageHeader header_of(const u8* head) {
    ImageHeader h;
    memcpy(&h, head, sizeof h);
    return h;
}

Status prepare_linux(Vm& vm, Vcpu& v0) {
    const GuestImage& img = vm.image;
    const ImageHeader h = header_of(vm.kernel_head);
    KEEL_TRY(check_image_header(h));
    const u64 kernel_end = img.initrd_bytes ? img.initrd_offset : vm.mem_size;
    const u64 dtb_off =
        align_up(img.initrd_bytes ? img.initrd_offset + img.initrd_bytes : h.image_size, 2 * MiB);
    if (h.text_offset != 0 || h.image_size > kernel_end || img.kernel_bytes > h.image_size ||
        dtb_off + kLinuxDtbMax > vm.mem_size) {
        kprint("vm %u: Image does not fit: text_offset %#llx, image_size %llu KiB, initrd at +%llu "
               "MiB, RAM %llu MiB\n",
               vm.id, static_cast<ull>(h.text_offset), static_cast<ull>(h.image_size / KiB),
               static_cast<ull>(img.initrd_offset / MiB), static_cast<ull>(vm.mem_size / MiB));
        return Status::OutOfRange;
    }
    const u64 ram = vm.ram_ipa().raw();
    const GuestDtbInfo info{ram,
                            vm.mem_size,
                            vm.arch.nvcpus,
                            img.initrd_bytes ? ram + img.initrd_offset : 0,
                            img.initrd_bytes ? ram + img.initrd_offset + img.initrd_bytes : 0,
                            img.cmdline,
                            vm.pci != nullptr};
    KEEL_TRY(build_guest_dtb(info, g_dtb, sizeof g_dtb));
    KEEL_TRY(arch::vm_write(vm, dtb_off, g_dtb, fdt_totalsize(g_dtb)));
    vcpu_reset(v0, ram, ram + dtb_off); // x0 = DTB, x1-x3 = 0 (booting.rst)
    kprint("vm %u: linux Image %llu KiB, initrd %llu KiB, dtb at ipa %#llx, args \"%s\"\n", vm.id,
           static_cast<ull>(h.image_size / KiB), static_cast<ull>(img.initrd_bytes / KiB),
           static_cast<ull>(ram + dtb_off), img.cmdline);
    return Status::Ok;
}

} // namespace
} // namespace keel::arm64

namespace keel::arch {

Result<GuestKind> detect_kernel(const u8* head, usize len) {
    if (len < sizeof(arm64::ImageHeader)) return GuestKind::Raw;
    const arm64::ImageHeader h = arm64::header_of(head);
    if (h.magic != arm64::kImageMagic) return GuestKind::Raw;
    KEEL_TRY(arm64::check_image_header(h));
    return GuestKind::Linux;
}

Result<u64> kernel_extent(const u8* head, usize len) {
    if (len < sizeof(arm64::ImageHeader)) return Status::Truncated;
    const arm64::ImageHeader h = arm64::header_of(head);
    KEEL_TRY(arm64::check_image_header(h));
    if (h.text_offset != 0) return Status::Unsupported;
    return h.image_size;
}

Status vm_prepare(Vm& vm) {
    using namespace arm64;
    VmContext& a = vm.arch;
    vuart_init(a.uart, vm.initial_input);
    Vcpu& v0 = a.vcpus[0];
    if (vm.image.kind == GuestKind::Linux) return prepare_linux(vm, v0);
    // Raw-guest boot registers: x0 VM id, x1 RAM base, x2 RAM size, x3 mode.
    const u64 ram = vm.ram_ipa().raw();
    vcpu_reset(v0, ram, vm.id);
    v0.ctx.x[1] = ram;
    v0.ctx.x[2] = vm.mem_size;
    v0.ctx.x[3] = vm.image.raw_mode;
    return Status::Ok;
}

} // namespace keel::arch
