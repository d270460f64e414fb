// guest:nvme on x86: the test guest drives the NVMe VF Keel assigned to it (docs/sriov.md
// "x86: a VF in a Linux VM"): config space through Keel's guest ECAM, BAR0 at the first
// slot of its PCIe window, admin queue and buffers in its own RAM, DMA addresses = its
// guest-physical addresses (Keel's VT-d domain maps IOVA = GPA onto exactly its memory).
// Steps 1-3 of ../../nvme_steps.h, shared with the arm64 guest: Identify into its RAM, a
// pattern to LBA 0 and back, then a device write into and a device read from an address
// past its RAM, which the VT-d unit must stop (Keel reports the faults with the VF's
// source id). Completions are polled: the guest's MSIs are the Linux tests' part.
#include "guest.h"

#define NVME_BAR0 0xc0000000ull                            // arch::kGuestPciWindow, slot 0
#define NVME_WMB() __asm__ volatile("sfence" ::: "memory") // entries before a UC doorbell
#include "../../nvme_steps.h"

#define ECAM 0xe0000000ull // virt::kGuestEcamBase
#define VF 0x100u          // 01:00.0, behind root port 00:01.0

static volatile uint32_t* cfg32(uint32_t bdf, uint32_t off) {
    return (volatile uint32_t*)(ECAM + ((uint64_t)bdf << 12) + off);
}

void check_nvme(uint64_t vm_id, uint64_t ram_base, uint64_t ram_size) {
    // Its PCI view: the VF at 01:00.0 behind root port 00:01.0, BAR0 where Keel mapped it.
    const uint32_t id = *cfg32(VF, 0), cls = *cfg32(VF, 8) >> 8, bar = *cfg32(VF, 0x10);
    *cfg32(VF, 4) = 0x6; // memory + bus master, as a driver would
    puts_("guest: pci: 01:00.0 id ");
    puthex(id);
    puts_(" class ");
    puthex(cls);
    puts_(" BAR0 ");
    puthex(bar);
    puts_("\n");
    struct nvme_state s;
    if (!nvme_steps(vm_id, ram_base, ram_size, 1u, &s)) return; // CQ: contiguous, no interrupts
    *nvme_reg(NVME_CC) = 0; // the controller off again (Keel's FLR follows at the VM's end)
    (void)nvme_wait_ready(0);
}
