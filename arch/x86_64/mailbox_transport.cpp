// x86_64 mailbox transport (arch/mailbox_interface.hpp). Device memory is mapped like
// any other MMIO (uncached, no-execute). The host bridge's windows come from ACPI's _CRS,
// which Keel does not evaluate (no AML interpreter): with no window, mailbox discovery
// refuses with its reason. The x86 mailbox is the x86 platform's work (docs/mailbox.md).
#include <arch/mailbox.hpp>

#include "paging.hpp"

namespace keel::arch {

Status mailbox_map_device(u64 addr, u64 size) {
    return x86::map_phys(addr, size, x86::MapKind::Device);
}

u32 pci_windows(const BootInfo&, pci::Window*, u32) { return 0; }

u64 mailbox_addr_limit() { return 1ull << 47; } // the identity map's lower canonical half

} // namespace keel::arch
