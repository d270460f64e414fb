// Weak "not on this arch" versions of arch_mailbox.hpp; an arch overrides what it has.
#include "hypervisor/mailbox/arch_mailbox.hpp"

namespace keel::arch {
[[gnu::weak]] Status mailbox_map_device(u64, u64) { return Status::Unsupported; }
[[gnu::weak]] u32 pci_windows(const BootInfo&, pci::Window*, u32) { return 0; }
[[gnu::weak]] u64 mailbox_addr_limit() { return 0; }
[[gnu::weak]] void mailbox_nonce(u8 (&out)[16]) {
    for (u8& b : out)
        b = 0;
}
[[gnu::weak]] u64 now_ms() { return 0; }
[[gnu::weak]] Status vm_load_bytes(Vm&, u64, const void*, u64) { return Status::Unsupported; }
[[gnu::weak]] Status vm_discard(Vm&) { return Status::Unsupported; }
[[gnu::weak]] Status vm_prepare_boot(Vm&, u64, u64, u64, const char*) { return Status::Ok; }
[[gnu::weak]] Status vm_stop(Vm&, bool) { return Status::Unsupported; }
[[gnu::weak]] Status vm_console_input(u32, u8) { return Status::Unsupported; }
} // namespace keel::arch
