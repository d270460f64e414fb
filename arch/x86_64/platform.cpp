// x86_64 platform discovery: memory from the boot info, the rest from ACPI, whose
// tables are mapped read-only on demand (they lie outside the image).
#include <arch/platform.hpp>

#include "acpi.hpp"
#include "paging.hpp"

namespace keel::arch {
namespace {

constexpr u64 kCom1Port = 0x3f8;

struct ImageRange {
    u64 base;
    u64 size;
};

// The Multiboot2 RSDP copy lives inside the image, which is mapped already (and
// read-write: mapping it again read-only would conflict).
const u8* map_acpi(void* ctx, u64 pa, u64 size) {
    const auto* image = static_cast<const ImageRange*>(ctx);
    if (pa >= image->base && size <= image->size && pa - image->base <= image->size - size)
        return reinterpret_cast<const u8*>(pa);
    if (x86::map_phys(pa, size, x86::MapKind::ReadOnly) != Status::Ok) return nullptr;
    return reinterpret_cast<const u8*>(pa);
}

} // namespace

Status discover_platform(const BootInfo& info, Platform& out) {
    KEEL_TRY(out.take_boot_map(info));
    if (!out.add_mem(info.image_base, info.image_size, MemType::Hypervisor))
        return Status::OutOfRange;
    out.uart_base = kCom1Port;
    out.psci = PsciConduit::None;
    if (info.rsdp == 0) return Status::NotFound; // no ACPI: no way to find the CPUs
    ImageRange image{info.image_base, info.image_size};
    return x86::acpi_read_platform(info.rsdp, x86::PhysReader{map_acpi, &image}, out);
}

} // namespace keel::arch
