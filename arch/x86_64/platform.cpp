// x86_64 platform discovery: memory from the boot info, the rest from ACPI, whose
// tables are mapped read-only on demand (they lie outside the image).
#include <arch/platform.hpp>

#include "acpi_platform.hpp"
#include "hypervisor/acpi/platform_acpi.hpp"
#include "hypervisor/print.hpp"
#include "paging.hpp"
#include "topology.hpp"
#include "x86.hpp"

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

x86::CpuidOut cpuid_leaf(u32 leaf, u32 subleaf) {
    const x86::CpuidRegs r = x86::cpuid(leaf, subleaf);
    return x86::CpuidOut{r.eax, r.ebx, r.ecx, r.edx};
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
    const char* where = nullptr;
    const Status s =
        x86::read_acpi_platform(info.rsdp, acpi::PhysReader{map_acpi, &image}, out, &where);
    if (s != Status::Ok) kprint("platform: ACPI %s refused: %s\n", where, status_name(s));
    return s;
}

} // namespace keel::arch

namespace keel::x86 {

Status read_acpi_platform(u64 rsdp, const acpi::PhysReader& reader, Platform& out,
                          const char** where) {
    KEEL_TRY(acpi::read_platform(rsdp, reader, acpi::Flavor::X86, out, where));
    const Result<ApicIdLayout> layout = read_apic_id_layout(arch::cpuid_leaf);
    if (layout.ok()) apply_apic_id_layout(out, layout.value());
    return Status::Ok;
}

} // namespace keel::x86
