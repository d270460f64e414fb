#include <arch/platform.hpp>

#include "bench_marks.hpp"
#include "dtb_platform.hpp"
#include "hypervisor/print.hpp"
#include "psci.hpp"

namespace keel::arch {

Status discover_platform(const BootInfo& info, Platform& out) {
    const arm64::DtbScan& scan = arm64::boot_dtb_scan();
    if (info.dtb == 0 && info.rsdp != 0 && scan.rsdp == info.rsdp) {
        // ACPI boot: the tables describe everything but memory, which the UEFI memory map
        // (in the boot info) does.
        if (scan.status != Status::Ok)
            kprint("platform: ACPI %s refused: %s\n", scan.acpi_where, status_name(scan.status));
        KEEL_TRY(scan.status);
        out = scan.platform;
        for (u32 i = 0; i < info.mem_count; ++i)
            if (!out.add_mem(info.mem[i].base, info.mem[i].size, info.mem[i].type))
                return Status::OutOfRange;
        kprint("platform: described by ACPI (no device tree)\n");
    } else if (info.dtb == 0) {
        return Status::NotFound;
    } else if (scan.fdt == reinterpret_cast<const void*>(info.dtb)) { // the boot path's walk
        KEEL_TRY(scan.status);
        out = scan.platform;
    } else {
        KEEL_TRY(arm64::dtb_read_platform(reinterpret_cast<const void*>(info.dtb), out));
    }
    if (!out.add_mem(info.image_base, info.image_size, MemType::Hypervisor))
        return Status::OutOfRange;
    if (out.psci == PsciConduit::None)
        return Status::Unsupported; // no way to start CPUs or power off
    arm64::psci_set_conduit(out.psci);
    arm64::boot_mark(arm64::BootMark::PlatformDone);
    return Status::Ok;
}

} // namespace keel::arch
