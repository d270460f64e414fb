// The boot stage's contribution to the hypervisor's entropy (docs/boot-info.md, version
// 2): fresh bytes from EFI_RNG_PROTOCOL when the firmware has one (AAVMF/OVMF: RngDxe on
// a CPU RNG, or VirtioRngDxe on a virtio-rng device), and the persistent boot counter,
// a non-volatile, boot-services-only variable the stage increments on every boot (no
// runtime access: once the hypervisor runs, nothing can rewrite it). The hypervisor mixes
// both into its seed (hypervisor/entropy/seed.hpp); the counter is never a source alone.
#include <string.h>

#include "boot/stage.hpp"
#include "hypervisor/print.hpp"

namespace keel {
namespace {
constexpr char16_t kCounterVariable[] = u"KeelBootCounter";
} // namespace

void stage_entropy(efi::SystemTable* st, BootInfo& bi) {
    void* iface = nullptr;
    efi::Status s = st->boot_services->locate_protocol(&efi::kRngProtocolGuid, nullptr, &iface);
    if (s == efi::kSuccess && iface != nullptr) {
        auto* rng = static_cast<efi::RngProtocol*>(iface);
        s = rng->get_rng(rng, nullptr, BootInfo::kEntropyMax, bi.entropy);
        if (s == efi::kSuccess) {
            bi.entropy_len = BootInfo::kEntropyMax;
            bi.entropy_source = static_cast<u32>(EntropySource::EfiRng);
            bi.flags |= BootInfo::kFlagEntropy;
            kprint("keel-boot: entropy: %u bytes from EFI_RNG_PROTOCOL\n", BootInfo::kEntropyMax);
        } else {
            memset(bi.entropy, 0, sizeof bi.entropy);
            kprint("keel-boot: entropy: EFI_RNG_PROTOCOL failed (status %#llx)\n",
                   static_cast<unsigned long long>(s));
        }
    } else {
        kprint("keel-boot: entropy: no EFI_RNG_PROTOCOL\n");
    }

    u64 counter = 0;
    u32 attrs = 0;
    u64 size = sizeof counter;
    if (st->runtime_services->get_variable(kCounterVariable, &efi::kKeelVendorGuid, &attrs, &size,
                                           &counter) != efi::kSuccess ||
        size != sizeof counter)
        counter = 0;
    ++counter;
    s = st->runtime_services->set_variable(
        kCounterVariable, &efi::kKeelVendorGuid,
        efi::kVariableNonVolatile | efi::kVariableBootServiceAccess, sizeof counter, &counter);
    if (s == efi::kSuccess) {
        bi.boot_counter = counter;
        bi.flags |= BootInfo::kFlagBootCounter;
        kprint("keel-boot: boot counter %llu\n", static_cast<unsigned long long>(counter));
    } else {
        kprint("keel-boot: boot counter not stored (status %#llx)\n",
               static_cast<unsigned long long>(s));
    }
}

} // namespace keel
