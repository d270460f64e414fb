// Reads the boot CPU's ID registers (ARM ARM D17.2) and reports what the
// virtualization paths will rely on.
#include "bench_marks.hpp"
#include <arch/cpu.hpp>
#include <arch/features.hpp>

#include "hypervisor/print.hpp"
#include "psci.hpp"
#include "sysreg.hpp"

namespace keel::arch {

Status report_features(const Platform& platform) {
    arm64::boot_mark(arm64::BootMark::FeaturesStart);
    u64 midr = KEEL_READ_SYSREG(midr_el1);
    u64 pfr0 = KEEL_READ_SYSREG(id_aa64pfr0_el1);
    u64 mmfr0 = KEEL_READ_SYSREG(id_aa64mmfr0_el1);
    u64 mmfr1 = KEEL_READ_SYSREG(id_aa64mmfr1_el1);
    u64 el = (KEEL_READ_SYSREG(CurrentEL) >> 2) & 3;
    static constexpr u32 kPaBits[] = {32, 36, 40, 42, 44, 48, 52};
    u64 parange = mmfr0 & 0xf;
    u32 pa_bits = parange < 7 ? kPaBits[parange] : 0;
    u32 vmid_bits = ((mmfr1 >> 4) & 0xf) == 2 ? 16 : 8;
    bool el2_a64 = ((pfr0 >> 8) & 0xf) != 0;
    bool gic_sysregs = ((pfr0 >> 24) & 0xf) != 0;
    u64 psci_version = arm64::psci_call(arm64::kPsciVersion);
    kprint("arm64: MIDR %#llx, running at EL%llu\n", static_cast<unsigned long long>(midr),
           static_cast<unsigned long long>(el));
    kprint(
        "virt: EL2 %s, stage-2 PA %u bits, VMID %u bits, GICv3 sysregs %s, PSCI %llu.%llu via %s\n",
        el2_a64 ? "yes" : "no", pa_bits, vmid_bits, gic_sysregs ? "yes" : "no",
        static_cast<unsigned long long>(psci_version >> 16),
        static_cast<unsigned long long>(psci_version & 0xffff), psci_name(platform.psci));
    return (el == 2 && el2_a64) ? Status::Ok : Status::Unsupported;
}

void trigger_test_fault() {
    // 256 GiB + 16 MiB: below QEMU virt's high ECAM, deliberately left unmapped at EL2.
    auto* p = reinterpret_cast<volatile u64*>(0x4001000000ull);
    (void)*p;
    kprint("KEEL PANIC: deliberate fault did not fault\n");
    halt();
}

} // namespace keel::arch
