// arm64 Linux loading (booting.rst). Guest RAM layout, from the VM's RAM base:
//
//   +0                      Image (text_offset + image_size, 2 MiB aligned base)
//   next 2 MiB boundary     initramfs (if any)
//   next 2 MiB boundary     device tree (< 64 KiB)
//
// The sources stay where the loader put them, reserved from the pool (never handed to
// a VM, never mapped except transiently by copy_phys_to_pool here).
#include "linux_loader.hpp"

#include "hypervisor/print.hpp"
#include "hypervisor/vm/vm.hpp"
#include "scrubber.hpp"

namespace keel::arm64 {
namespace {

constexpr u32 kDtbMax = kLinuxDtbMax;
alignas(8) u8 g_dtb[kDtbMax]; // boot core only (vm_create)

Status read_header(u64 pa, ImageHeader* h) {
    KEEL_TRY(read_phys(PhysAddr(pa), h, sizeof *h));
    return check_image_header(*h);
}

} // namespace

Status linux_source_extent(const VmDef& def, u64* kernel_bytes) {
    ImageHeader h;
    KEEL_TRY(read_header(def.kernel_pa, &h));
    *kernel_bytes = h.image_size;
    return Status::Ok;
}

Status linux_load(Vm& vm, u32 nvcpus, u64* entry, u64* dtb_ipa) {
    const VmDef& d = vm.def;
    ImageHeader h;
    Status s = read_header(d.kernel_pa, &h);
    if (s != Status::Ok) {
        kprint("vm %u: no bootable arm64 Image (magic \"ARM\\x64\", image_size, little-endian) at "
               "%#llx\n",
               vm.id, static_cast<unsigned long long>(d.kernel_pa));
        return s;
    }
    LinuxLayout lay{};
    KEEL_TRY(linux_layout(h, d.initrd_size, vm.mem_size, &lay));
    const u64 initrd_off = lay.initrd_off;
    const u64 dtb_off = lay.dtb_off;
    KEEL_TRY(copy_phys_to_pool(PhysAddr(vm.mem_base.raw() + h.text_offset), PhysAddr(d.kernel_pa),
                               h.image_size));
    if (d.initrd_size)
        KEEL_TRY(copy_phys_to_pool(PhysAddr(vm.mem_base.raw() + initrd_off), PhysAddr(d.initrd_pa),
                                   d.initrd_size));
    const u64 ram = vm.ram_ipa().raw();
    GuestDtbInfo info{ram,
                      vm.mem_size,
                      nvcpus,
                      d.initrd_size ? ram + initrd_off : 0,
                      d.initrd_size ? ram + initrd_off + d.initrd_size : 0,
                      d.args};
    KEEL_TRY(build_guest_dtb(info, g_dtb, kDtbMax));
    KEEL_TRY(copy_to_pool(PhysAddr(vm.mem_base.raw() + dtb_off), g_dtb, kDtbMax));
    *entry = ram + h.text_offset;
    *dtb_ipa = ram + dtb_off;
    kprint("vm %u: linux Image %llu KiB (text_offset %#llx), initrd %llu KiB, dtb at ipa %#llx, "
           "args \"%s\"\n",
           vm.id, static_cast<unsigned long long>(h.image_size / KiB),
           static_cast<unsigned long long>(h.text_offset),
           static_cast<unsigned long long>(d.initrd_size / KiB),
           static_cast<unsigned long long>(*dtb_ipa), d.args);
    return Status::Ok;
}

} // namespace keel::arm64
