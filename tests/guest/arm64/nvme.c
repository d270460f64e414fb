// guest:nvme: the arm64 test guest drives the NVMe VF Keel assigned to it (docs/sriov.md
// "Assignment"), with raw PRPs and no interrupts: BAR0 at the first slot of Keel's guest
// PCIe window, admin queue and buffers in its own RAM, DMA addresses = its own IPAs
// (Keel's SMMU context maps IOVA = IPA onto exactly its memory). Register layout, queue
// entries and opcodes from NVM Express Base 2.0 (§3.1 registers, §4.1-4.2 queue entries,
// §5 admin commands) and the NVM Command Set 1.0 (Read 02h, Write 01h).
//   1. enable the controller, Identify Controller into its RAM: the data must arrive;
//   2. an I/O queue pair, a 4 KiB pattern written to LBA 0 of its namespace and read back;
//   3. Identify into an IPA past its RAM, and a Write whose data lies there: the SMMU must
//      stop both (the guest sees no change anywhere it can look; Keel reports the faults).
#include "gic.h"
#include "guest.h"

#define CAP 0x00
#define CC 0x14
#define CSTS 0x1c
#define AQA 0x24
#define ASQ 0x28
#define ACQ 0x30

struct sqe {
    uint32_t dw[16];
};
struct cqe {
    uint32_t dw0, dw1;
    uint16_t sqhd, sqid, cid, status; // status bit 0: phase
};

#define BAR0 0x10000000ull // arch::kGuestPciWindow, slot 0
#define ECAM 0x3f000000ull // Keel's guest ECAM (arch/arm64/guest_map.hpp)
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

static volatile uint32_t* reg32(uint64_t off) { return (volatile uint32_t*)(BAR0 + off); }
static void put64(uint64_t off, uint64_t v) {
    *reg32(off) = (uint32_t)v;
    *reg32(off + 4) = (uint32_t)(v >> 32);
}

struct queue {
    volatile struct sqe* sq;
    volatile struct cqe* cq;
    uint32_t qid, tail, head, phase, depth, stride;
};

static int wait_ready(uint32_t want) {
    for (uint64_t i = 0; i < 50000000ull; ++i)
        if ((*reg32(CSTS) & 1u) == want) return 1;
    return 0;
}

// One command's fields (the rest of the entry is zero).
struct cmd {
    uint32_t opc, nsid;
    uint64_t prp1;
    uint32_t cdw10, cdw11, cdw12;
};

// Submits one command and polls its completion; returns the status field (0 = success),
// 0xffff when nothing completed, 0xfffe for a completion of another command.
static uint32_t run(struct queue* q, struct cmd c) {
    static uint16_t cid = 1;
    volatile uint32_t* e = (volatile uint32_t*)&q->sq[q->tail];
    for (int i = 0; i < 16; ++i)
        e[i] = 0;
    e[0] = c.opc | ((uint32_t)cid << 16);
    e[1] = c.nsid;
    e[6] = (uint32_t)c.prp1;
    e[7] = (uint32_t)(c.prp1 >> 32);
    e[10] = c.cdw10;
    e[11] = c.cdw11;
    e[12] = c.cdw12;
    q->tail = (q->tail + 1) % q->depth;
    __asm__ volatile("dsb sy" ::: "memory");
    *reg32(0x1000 + (2 * q->qid) * q->stride) = q->tail;
    for (uint64_t i = 0; i < 50000000ull; ++i) {
        volatile struct cqe* r = &q->cq[q->head];
        if ((r->status & 1u) != q->phase) continue;
        const uint32_t st = r->status >> 1;
        const uint16_t got = r->cid;
        q->head = (q->head + 1) % q->depth;
        if (q->head == 0) q->phase ^= 1u;
        *reg32(0x1000 + (2 * q->qid + 1) * q->stride) = q->head;
        return got == cid++ ? st : 0xfffe;
    }
    return 0xffff;
}

static void zero(volatile uint8_t* p, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i)
        p[i] = 0;
}

static void status_line(const char* what, uint64_t addr, uint32_t st) {
    puts_("guest: nvme: ");
    puts_(what);
    puts_(" at ");
    puthex(addr);
    puts_(": status ");
    puthex(st);
    puts_("\n");
}

void check_nvme(uint64_t vm_id, uint64_t ram_base, uint64_t ram_size) {
    // Its queues and buffers: the upper half of its RAM, clear of the image and stack.
    const uint64_t mem = ram_base + ram_size / 2;
    volatile uint8_t* area = (volatile uint8_t*)mem;
    zero(area, 7 * 4096);
    check_pci();
    const uint64_t cap = (uint64_t)*reg32(CAP) | ((uint64_t)*reg32(CAP + 4) << 32);
    const uint32_t vs = *reg32(0x08);
    puts_("guest: nvme: BAR0 at ");
    puthex(BAR0);
    puts_(", version ");
    putdec(vs >> 16);
    puts_(".");
    putdec((vs >> 8) & 0xff);
    puts_("\n");
    if (vs == 0 || vs == 0xffffffffu) {
        puts_("guest: ERROR nvme: no controller at BAR0\n");
        return;
    }
    const uint32_t stride = 4u << ((cap >> 32) & 0xf);
    *reg32(CC) = 0;
    if (!wait_ready(0)) puts_("guest: ERROR nvme: controller did not disable\n");
    struct queue admin = {
        (volatile struct sqe*)mem, (volatile struct cqe*)(mem + 4096), 0, 0, 0, 1, 8, stride};
    *reg32(AQA) = (7u << 16) | 7u;
    put64(ASQ, mem);
    put64(ACQ, mem + 4096);
    *reg32(CC) = 1u | (6u << 16) | (4u << 20); // EN, 64-byte SQEs, 16-byte CQEs, 4 KiB pages
    if (!wait_ready(1)) {
        puts_("guest: ERROR nvme: controller did not become ready\n");
        return;
    }
    // 1. Identify Controller into its own RAM.
    const uint64_t data = mem + 2 * 4096;
    struct cmd c = {0x06, 0, data, 1, 0, 0}; // Identify, CNS 1: the controller
    uint32_t st = run(&admin, c);
    const volatile uint8_t* id = (const volatile uint8_t*)data;
    puts_("guest: nvme: identify into its RAM: status ");
    puthex(st);
    puts_(", controller id ");
    putdec(id[78] | (id[79] << 8));
    puts_(", model \"");
    for (int i = 24; i < 64 && id[i] != ' ' && id[i] != 0; ++i)
        putc_((char)id[i]);
    puts_("\"\n");

    // Its namespace: the first of the active namespace ID list (Identify CNS 02h).
    const struct cmd ns_list = {0x06, 0, data, 2, 0, 0};
    st = run(&admin, ns_list);
    const uint32_t nsid = *(volatile uint32_t*)data;
    puts_("guest: nvme: namespace ");
    putdec(nsid);
    puts_("\n");
    if (st != 0 || nsid == 0) {
        status_line("ERROR no active namespace", data, st);
        return;
    }

    // 2. One I/O queue pair (polled: no interrupt), a pattern to LBA 0 and back.
    const uint64_t iosq = mem + 3 * 4096, iocq = mem + 4 * 4096;
    const uint64_t wbuf = mem + 5 * 4096, rbuf = mem + 6 * 4096;
    // Create I/O CQ 1 (8 entries, physically contiguous, MSI-X vector 0), then SQ 1 on it.
    // Completions are polled; the vector stays masked in its table until step 4.
    const struct cmd cq = {0x05, 0, iocq, (7u << 16) | 1u, 3u, 0}; // interrupts on, vector 0
    const struct cmd sq = {0x01, 0, iosq, (7u << 16) | 1u, (1u << 16) | 1u, 0};
    const uint32_t st_cq = run(&admin, cq), st_sq = run(&admin, sq);
    if (st_cq != 0 || st_sq != 0) {
        status_line("create I/O queues ERROR", iosq, st_cq | (st_sq << 16));
        return;
    }
    struct queue io = {
        (volatile struct sqe*)iosq, (volatile struct cqe*)iocq, 1, 0, 0, 1, 8, stride};
    // The pattern names the VM, so each namespace's backing file shows whose it is.
    static const char kTag[] = "KEEL-VF-PATTERN vm ";
    volatile uint8_t* w = (volatile uint8_t*)wbuf;
    for (uint32_t i = 0; i < 4096; i += 32) {
        for (uint32_t j = 0; j < 32; ++j)
            w[i + j] = j < sizeof kTag - 1    ? (uint8_t)kTag[j]
                       : j == sizeof kTag - 1 ? (uint8_t)('0' + vm_id % 10)
                       : j == 31              ? (uint8_t)'\n'
                                              : (uint8_t)('a' + (i / 32 + j) % 26);
    }
    zero((volatile uint8_t*)rbuf, 4096);
    const struct cmd wr = {0x01, nsid, wbuf, 0, 0, 7}; // Write, LBA 0, 8 blocks of 512 bytes
    st = run(&io, wr);
    struct cmd rd = {0x02, nsid, rbuf, 0, 0, 7};
    const uint32_t st_rd = run(&io, rd);
    uint32_t diff = 0;
    for (uint32_t i = 0; i < 4096; ++i)
        diff += ((volatile uint8_t*)rbuf)[i] != w[i];
    puts_("guest: nvme: wrote 4 KiB to LBA 0, status ");
    puthex(st);
    puts_("; read back, status ");
    puthex(st_rd);
    puts_(diff == 0 && st == 0 && st_rd == 0 ? ": pattern matches\n" : ": ERROR pattern differs\n");

    // 3. DMA outside its RAM: a device write (Identify) and a device read (Write's data).
    const uint64_t outside = ram_base + ram_size + 0x200000;
    c.prp1 = outside;
    status_line("identify into an address past its RAM", outside, run(&admin, c));
    const struct cmd bad = {0x01, nsid, outside, 8, 0, 7}; // LBA 8: LBA 0 keeps the pattern
    status_line("write from an address past its RAM", outside, run(&io, bad));
    zero((volatile uint8_t*)rbuf, 4096);
    rd.cdw10 = 8;
    st = run(&io, rd);
    uint32_t nonzero = 0;
    for (uint32_t i = 0; i < 4096; ++i)
        nonzero += ((volatile uint8_t*)rbuf)[i] != 0;
    puts_("guest: nvme: LBA 8 read back, status ");
    puthex(st);
    puts_(nonzero == 0 ? ": no bytes from outside its RAM\n"
                       : ": ERROR bytes from outside its RAM reached the disk\n");

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
    rd.cdw10 = 0;
    st = run(&io, rd);
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
    st = run(&io, rd);
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

    *reg32(CC) = 0; // the controller off again (Keel's FLR follows at the VM's end)
    (void)wait_ready(0);
}
