// The NVMe steps both test guests take on the VF Keel assigned them (guest:nvme; docs/sriov.md),
// with raw PRPs and polled completions. Register layout, queue entries and opcodes from NVM
// Express Base 2.0 (§3.1 registers, §4.1-4.2 queue entries, §5 admin commands) and the NVM
// Command Set 1.0 (Read 02h, Write 01h):
//   1. enable the controller, Identify Controller into its RAM: the data must arrive;
//   2. an I/O queue pair, a 4 KiB pattern written to LBA 0 of its namespace and read back;
//   3. Identify into an address past its RAM, and a Write whose data lies there: the IOMMU
//      must stop both (the guest sees no change anywhere it can look; Keel reports the faults).
// The including guest defines first: putc_ (guest_print.h), NVME_BAR0 (where Keel maps the
// VF's BAR0) and NVME_WMB() (its queue entry in memory before a doorbell write).
#pragma once

#include "guest_print.h"

#define NVME_CAP 0x00
#define NVME_CC 0x14
#define NVME_CSTS 0x1c
#define NVME_AQA 0x24
#define NVME_ASQ 0x28
#define NVME_ACQ 0x30

struct nvme_sqe {
    uint32_t dw[16];
};
struct nvme_cqe {
    uint32_t dw0, dw1;
    uint16_t sqhd, sqid, cid, status; // status bit 0: phase
};
struct nvme_queue {
    volatile struct nvme_sqe* sq;
    volatile struct nvme_cqe* cq;
    uint32_t qid, tail, head, phase, depth, stride;
};
// One command's fields (the rest of the entry is zero).
struct nvme_cmd {
    uint32_t opc, nsid;
    uint64_t prp1;
    uint32_t cdw10, cdw11, cdw12;
};
// What steps 1-3 leave for a guest's own further steps.
struct nvme_state {
    struct nvme_queue admin, io;
    uint32_t nsid;
    uint64_t rbuf; // a 4 KiB buffer in its RAM
};

static volatile uint32_t* nvme_reg(uint64_t off) { return (volatile uint32_t*)(NVME_BAR0 + off); }
static void nvme_put64(uint64_t off, uint64_t v) {
    *nvme_reg(off) = (uint32_t)v;
    *nvme_reg(off + 4) = (uint32_t)(v >> 32);
}
static int nvme_wait_ready(uint32_t want) {
    for (uint64_t i = 0; i < 50000000ull; ++i)
        if ((*nvme_reg(NVME_CSTS) & 1u) == want) return 1;
    return 0;
}
// Field by field (a struct copy would want memcpy, which the guests do not have).
static void nvme_queue_at(struct nvme_queue* q, uint64_t sq, uint64_t cq, uint32_t qid,
                          uint32_t stride) {
    q->sq = (volatile struct nvme_sqe*)sq;
    q->cq = (volatile struct nvme_cqe*)cq;
    q->qid = qid, q->tail = 0, q->head = 0, q->phase = 1, q->depth = 8, q->stride = stride;
}
static void nvme_zero(volatile uint8_t* p, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i)
        p[i] = 0;
}

// Submits one command and polls its completion; returns the status field (0 = success),
// 0xffff when nothing completed, 0xfffe for a completion of another command. The device runs
// in the emulator's own thread, which a loaded host may starve for seconds: the wait reads
// CSTS (a device register: the emulator's device side runs for it) every 4096 polls and
// gives up only after 2^31 polls.
static uint32_t nvme_run(struct nvme_queue* q, struct nvme_cmd c) {
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
    NVME_WMB();
    *nvme_reg(0x1000 + (2 * q->qid) * q->stride) = q->tail;
    for (uint64_t i = 0; i < (1ull << 31); ++i) {
        volatile struct nvme_cqe* r = &q->cq[q->head];
        if ((r->status & 1u) != q->phase) {
            if ((i & 4095) == 0) (void)*nvme_reg(NVME_CSTS);
            continue;
        }
        const uint32_t st = r->status >> 1;
        const uint16_t got = r->cid;
        q->head = (q->head + 1) % q->depth;
        if (q->head == 0) q->phase ^= 1u;
        *nvme_reg(0x1000 + (2 * q->qid + 1) * q->stride) = q->head;
        return got == cid++ ? st : 0xfffe;
    }
    return 0xffff;
}

static void nvme_status_line(const char* what, uint64_t addr, uint32_t st) {
    puts_("guest: nvme: ");
    puts_(what);
    puts_(" at ");
    puthex(addr);
    puts_(": status ");
    puthex(st);
    puts_("\n");
}

// Steps 1-3 in the upper half of its RAM (clear of image and stack); `cq_flags` is Create
// I/O CQ's CDW11 low bits (PC 1, IEN 2: interrupts from MSI-X vector 0). 1 when the I/O
// queue pair is there for more, 0 after an ERROR line.
static int nvme_steps(uint64_t vm_id, uint64_t ram_base, uint64_t ram_size, uint32_t cq_flags,
                      struct nvme_state* s) {
    const uint64_t mem = ram_base + ram_size / 2;
    nvme_zero((volatile uint8_t*)mem, 7 * 4096);
    const uint64_t cap = (uint64_t)*nvme_reg(NVME_CAP) | ((uint64_t)*nvme_reg(NVME_CAP + 4) << 32);
    const uint32_t vs = *nvme_reg(0x08);
    puts_("guest: nvme: BAR0 at ");
    puthex(NVME_BAR0);
    puts_(", version ");
    putdec(vs >> 16);
    puts_(".");
    putdec((vs >> 8) & 0xff);
    puts_("\n");
    if (vs == 0 || vs == 0xffffffffu) {
        puts_("guest: ERROR nvme: no controller at BAR0\n");
        return 0;
    }
    const uint32_t stride = 4u << ((cap >> 32) & 0xf);
    *nvme_reg(NVME_CC) = 0;
    if (!nvme_wait_ready(0)) puts_("guest: ERROR nvme: controller did not disable\n");
    nvme_queue_at(&s->admin, mem, mem + 4096, 0, stride);
    *nvme_reg(NVME_AQA) = (7u << 16) | 7u;
    nvme_put64(NVME_ASQ, mem);
    nvme_put64(NVME_ACQ, mem + 4096);
    *nvme_reg(NVME_CC) = 1u | (6u << 16) | (4u << 20); // EN, 64-byte SQEs, 16-byte CQEs, 4 KiB
    if (!nvme_wait_ready(1)) {
        puts_("guest: ERROR nvme: controller did not become ready\n");
        return 0;
    }
    // 1. Identify Controller into its own RAM.
    const uint64_t data = mem + 2 * 4096;
    struct nvme_cmd c = {0x06, 0, data, 1, 0, 0}; // Identify, CNS 1: the controller
    uint32_t st = nvme_run(&s->admin, c);
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
    const struct nvme_cmd ns_list = {0x06, 0, data, 2, 0, 0};
    st = nvme_run(&s->admin, ns_list);
    s->nsid = *(volatile uint32_t*)data;
    puts_("guest: nvme: namespace ");
    putdec(s->nsid);
    puts_("\n");
    if (st != 0 || s->nsid == 0) {
        nvme_status_line("ERROR no active namespace", data, st);
        return 0;
    }

    // 2. One I/O queue pair (completions polled), a pattern to LBA 0 and back.
    const uint64_t iosq = mem + 3 * 4096, iocq = mem + 4 * 4096;
    const uint64_t wbuf = mem + 5 * 4096, rbuf = mem + 6 * 4096;
    s->rbuf = rbuf;
    const struct nvme_cmd cq = {0x05, 0, iocq, (7u << 16) | 1u, cq_flags, 0}; // vector 0
    const struct nvme_cmd sq = {0x01, 0, iosq, (7u << 16) | 1u, (1u << 16) | 1u, 0};
    const uint32_t st_cq = nvme_run(&s->admin, cq), st_sq = nvme_run(&s->admin, sq);
    if (st_cq != 0 || st_sq != 0) {
        nvme_status_line("create I/O queues ERROR", iosq, st_cq | (st_sq << 16));
        return 0;
    }
    nvme_queue_at(&s->io, iosq, iocq, 1, stride);
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
    nvme_zero((volatile uint8_t*)rbuf, 4096);
    const struct nvme_cmd wr = {0x01, s->nsid, wbuf, 0, 0, 7}; // Write, LBA 0, 8 x 512 bytes
    st = nvme_run(&s->io, wr);
    const struct nvme_cmd rd = {0x02, s->nsid, rbuf, 0, 0, 7};
    const uint32_t st_rd = nvme_run(&s->io, rd);
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
    nvme_status_line("identify into an address past its RAM", outside, nvme_run(&s->admin, c));
    const struct nvme_cmd bad = {0x01, s->nsid, outside, 8, 0, 7}; // LBA 8: LBA 0 keeps it
    nvme_status_line("write from an address past its RAM", outside, nvme_run(&s->io, bad));
    nvme_zero((volatile uint8_t*)rbuf, 4096);
    const struct nvme_cmd rd8 = {0x02, s->nsid, rbuf, 8, 0, 7};
    st = nvme_run(&s->io, rd8);
    uint32_t nonzero = 0;
    for (uint32_t i = 0; i < 4096; ++i)
        nonzero += ((volatile uint8_t*)rbuf)[i] != 0;
    puts_("guest: nvme: LBA 8 read back, status ");
    puthex(st);
    puts_(nonzero == 0 ? ": no bytes from outside its RAM\n"
                       : ": ERROR bytes from outside its RAM reached the disk\n");
    return 1;
}
