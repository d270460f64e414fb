#include "hypervisor/acpi/platform_acpi.hpp"

#include "hypervisor/acpi/madt.hpp"
#include "hypervisor/acpi/readers.hpp"

namespace keel::acpi {
namespace {

using Reader = Status (*)(const u8*, u32, Platform&);

Status read_one(const PhysReader& r, const TableSet& set, const char* sig, bool required,
                Reader read, Platform& out, const char** where) {
    *where = sig;
    const Table* t = set.find(sig);
    if (t == nullptr) return required ? Status::NotFound : Status::Ok;
    const Result<const u8*> p = map_table(r, *t);
    KEEL_TRY(p.status());
    return read(p.value(), t->len, out);
}

} // namespace

Status read_platform(u64 rsdp_pa, const PhysReader& r, Flavor flavor, Platform& out,
                     const char** where) {
    const char* unused = nullptr;
    const char** w = where != nullptr ? where : &unused;
    *w = "RSDP/XSDT";
    TableSet set;
    KEEL_TRY(open(rsdp_pa, r, set));
    const bool arm = flavor == Flavor::Arm64;
    KEEL_TRY(read_one(r, set, "APIC", true, read_madt, out, w));
    if (arm != (out.irq_kind != IrqControllerKind::Apic))
        return Status::WrongArch; // GICC entries on x86 or local APICs on arm64
    KEEL_TRY(read_one(r, set, "MCFG", false, read_mcfg, out, w));
    if (arm) {
        KEEL_TRY(read_one(r, set, "FACP", true, read_fadt_arm, out, w));
        KEEL_TRY(read_one(r, set, "SPCR", true, read_spcr_pl011, out, w));
        KEEL_TRY(read_one(r, set, "PPTT", false, read_pptt, out, w));
        KEEL_TRY(read_one(r, set, "GTDT", true, read_gtdt, out, w));
        KEEL_TRY(read_one(r, set, "IORT", false, read_iort, out, w));
    } else {
        KEEL_TRY(read_one(r, set, "DMAR", false, read_dmar, out, w));
    }
    KEEL_TRY(read_one(r, set, "SRAT", false, read_srat, out, w));
    *w = nullptr;
    return Status::Ok;
}

} // namespace keel::acpi
