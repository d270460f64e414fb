// guest:nvme: the arm64 test guest drives the NVMe VF Keel assigned to it (docs/sriov.md
// "Assignment"): BAR0 at the first slot of Keel's guest PCIe window, admin queue and buffers
// in its own RAM, DMA addresses = its own IPAs (Keel's SMMU context maps IOVA = IPA onto
// exactly its memory). Its PCI view first, then steps 1-3 of ../nvme_steps.h (shared with the
// x86 guest: Identify, a pattern to LBA 0 and back, DMA past its RAM the SMMU must stop), then
//   4. MSI-X vector 0 through its virtual GICv2m frame;
//   5. that vector masked: the message held in the PBA and sent when unmasked.
#include "gic.h"
#include "guest.h"

#define BAR0 0x10000000ull // arch::kGuestPciWindow, slot 0
#define ECAM 0x3f000000ull // Keel's guest ECAM (arch/arm64/guest_map.hpp)
#define NVME_BAR0 BAR0
#define NVME_WMB() __asm__ volatile("dsb sy" ::: "memory")
#include "../nvme_steps.h"
// Functions by bus << 8 | device << 3 | function: the VF sits behind root port 00:01.0.
#define VF 0x100u
#define PORT 0x08u
static volatile uint32_t* cfg32(uint32_t bdf, uint32_t off) {
    return (volatile uint32_t*)(ECAM + ((uint64_t)bdf << 12) + off);
}

// Its MSI-X capability offset, table and PBA offset|BIR (check_pci).
static uint32_t g_cap, g_table, g_pba;

// Its PCI view through the ECAM (PCI Local Bus 3.0 §6.1, §6.2.5.1, §6.8.2): nothing at
// 00:00.0 or 00:05.0, a bridge (the slot's root port) at 00:01.0 with bus 1 behind it, the
// VF at 01:00.0 with its class, BAR0 where Keel mapped it and its size.
static void check_pci(void) {
    const uint32_t none0 = *cfg32(0, 0), none5 = *cfg32(0x28, 0), id = *cfg32(VF, 0);
    const uint32_t port = *cfg32(PORT, 8) >> 8, bus = (*cfg32(PORT, 0x18) >> 8) & 0xff;
    const uint32_t cls = *cfg32(VF, 8) >> 8, bar = *cfg32(VF, 0x10);
    *cfg32(VF, 0x10) = 0xffffffffu;
    const uint32_t size = ~(*cfg32(VF, 0x10) & ~0xfu) + 1;
    *cfg32(VF, 0x10) = bar;
    const uint32_t cap = *cfg32(VF, 0x34) & 0xff;
    const uint32_t msix = cap ? *cfg32(VF, cap) : 0;
    *cfg32(VF, 4) = 0x6; // memory + bus master, as a driver would
    puts_("guest: pci: 00:00.0 ");
    puthex(none0);
    puts_(", 00:05.0 ");
    puthex(none5);
    puts_(", 00:01.0 class ");
    puthex(port);
    puts_(" bus ");
    puthex(bus);
    puts_(", 01:00.0 id ");
    puthex(id);
    puts_(" class ");
    puthex(cls);
    puts_("\nguest: pci: 01:00.0 BAR0 ");
    puthex(bar);
    puts_(" size ");
    puthex(size);
    puts_(" cap ");
    puthex(cap);
    puts_(" msix ");
    puthex(msix & 0x7ff00ff);
    puts_(" command ");
    puthex(*cfg32(VF, 4) & 0xffff);
    puts_("\n");
    // The MSI-X table and PBA (§6.8.2.6-6.8.2.10) where the capability says, in BAR0: entry
    // 0 starts masked, what the guest writes reads back, the PBA shows nothing pending.
    const uint32_t table = *cfg32(VF, cap + 4), pba = *cfg32(VF, cap + 8);
    g_cap = cap;
    g_table = table;
    g_pba = pba;
    if (cap == 0 || (table & 7) != 0 || (pba & 7) != 0) {
        puts_("guest: ERROR pci: no MSI-X table in BAR0\n");
        return;
    }
    volatile uint32_t* entry = (volatile uint32_t*)(BAR0 + (table & ~7u));
    const uint32_t ctl0 = entry[3];
    entry[0] = 0x08020040u;
    entry[2] = 0x30;
    entry[3] = 0;
    puts_("guest: pci: msi-x table at BAR0+");
    puthex(table & ~7u);
    puts_(" vector control ");
    puthex(ctl0);
    puts_(" -> ");
    puthex(entry[3]);
    puts_(", address ");
    puthex(entry[0]);
    puts_(", data ");
    puthex(entry[2]);
    puts_(", pba ");
    puthex(*(volatile uint32_t*)(BAR0 + (pba & ~7u)));
    puts_("\n");
    entry[3] = 1; // masked again
}

// MSI-X vector 0 through its GICv2m frame (Linux's irq-gic-v2m.c view: MSI_TYPER at frame +
// 0x008 gives the first SPI and the count, an MSI is a write of the SPI number to +0x040).
#define V2M 0x08020000ull
static volatile uint32_t g_msi_intid;
static void msi_irq(void) {
    const uint32_t id = (uint32_t)(READ_SYSREG(ICC_IAR1) & 0xffffff);
    if (id >= 1020) return;
    g_msi_intid = id;
    WRITE_SYSREG(ICC_EOIR1, id);
}

void check_nvme(uint64_t vm_id, uint64_t ram_base, uint64_t ram_size) {
    check_pci();
    struct nvme_state st_;
    // Steps 1-3 (nvme_steps.h); the I/O CQ raises MSI-X vector 0, masked in its table until 4.
    if (!nvme_steps(vm_id, ram_base, ram_size, 3u, &st_)) return;
    struct nvme_queue* io = &st_.io;
    struct nvme_cmd rd = {0x02, st_.nsid, st_.rbuf, 0, 0, 7};
    uint32_t st = 0;

    // 4. The MSI: vector 0 aimed at its frame's first SPI, MSI-X on, that SPI enabled in its
    // GIC; one more read must raise it.
    const uint32_t typer = *(volatile uint32_t*)(V2M + 0x008);
    const uint32_t spi = (typer >> 16) & 0x3ff;
    volatile uint32_t* entry = (volatile uint32_t*)(BAR0 + (g_table & ~7u));
    entry[0] = (uint32_t)(V2M + 0x040);
    entry[1] = 0;
    entry[2] = spi;
    entry[3] = 0;
    *cfg32(VF, g_cap) = *cfg32(VF, g_cap) | (0x8000u << 16); // MSI-X Enable
    __asm__ volatile("msr vbar_el1, %0; isb" : : "r"(guest_vectors));
    g_irq_hook = msi_irq;
    gic_enable_spi(spi);
    __asm__ volatile("msr daifclr, #2" ::: "memory");
    st = nvme_run(io, rd);
    const uint64_t freq = READ_SYSREG(cntfrq_el0), t0 = cntvct();
    while (g_msi_intid == 0 && cntvct() - t0 < 2 * freq) {
    }
    __asm__ volatile("msr daifset, #2" ::: "memory");
    puts_("guest: nvme: msi frame SPIs ");
    putdec(spi);
    puts_("+");
    putdec(typer & 0x3ff);
    puts_("; read status ");
    puthex(st);
    puts_("\n");
    puts_(g_msi_intid == spi ? "guest: nvme: MSI-X vector 0 arrived as SPI "
                             : "guest: ERROR nvme: no MSI, intid ");
    putdec(g_msi_intid);
    puts_("\n");

    // 5. Vector 0 masked (§6.8.3.4): a read's message is held, its Pending Bit set in the
    // PBA, and sent when the vector is unmasked, not lost.
    volatile uint32_t* pba = (volatile uint32_t*)(BAR0 + (g_pba & ~7u));
    entry[3] = 1;
    g_msi_intid = 0;
    __asm__ volatile("msr daifclr, #2" ::: "memory");
    st = nvme_run(io, rd);
    uint64_t t1 = cntvct();
    while (g_msi_intid == 0 && (*pba & 1) == 0 && cntvct() - t1 < 2 * freq) {
    }
    const uint32_t masked_intid = g_msi_intid, pending = *pba;
    entry[3] = 0;
    t1 = cntvct();
    while (g_msi_intid == 0 && cntvct() - t1 < 2 * freq) {
    }
    __asm__ volatile("msr daifset, #2" ::: "memory");
    const int held = masked_intid == 0 && (pending & 1) != 0 && g_msi_intid == spi;
    puts_(held ? "guest: nvme: masked vector 0: read status "
               : "guest: ERROR nvme: masked vector 0: read status ");
    puthex(st);
    puts_(masked_intid == 0 ? ", no interrupt" : ", an interrupt while masked");
    puts_(", PBA ");
    puthex(pending);
    puts_("; unmasked: intid ");
    putdec(g_msi_intid);
    puts_(", PBA ");
    puthex(*pba);
    puts_("\n");
    g_irq_hook = 0;

    *nvme_reg(NVME_CC) = 0; // the controller off again (Keel's FLR follows at the VM's end)
    (void)nvme_wait_ready(0);
}
