#include "hypervisor/acpi/fields.hpp"
#include "hypervisor/acpi/readers.hpp"

namespace keel::acpi {
namespace {

// Interface type @36; base address as a Generic Address Structure @40 (ACPI 5.2.3.2:
// address space id u8, bit width, bit offset, access size, address u64 @+4).
constexpr u32 kInterfaceType = 36;
constexpr u32 kBaseGas = 40;
constexpr u32 kMinLength = kBaseGas + 12;
constexpr u8 kPl011 = 0x03;       // ARM PL011 UART
constexpr u8 kSbsaGeneric = 0x0E; // ARM SBSA Generic UART (a PL011 register subset)
constexpr u8 kSystemMemory = 0;   // GAS address space: memory

} // namespace

Status read_spcr_pl011(const u8* t, u32 len, Platform& out) {
    if (len < kMinLength) return Status::Truncated;
    const u8 type = t[kInterfaceType];
    if (type != kPl011 && type != kSbsaGeneric) return Status::Unsupported;
    if (t[kBaseGas] != kSystemMemory) return Status::Unsupported;
    const u64 base = le64(t + kBaseGas + 4);
    if (base == 0) return Status::Corrupt;
    out.uart_base = base;
    return Status::Ok;
}

} // namespace keel::acpi
