// keel-nvme-bench: the guest side of bench/sriov_io.sh. Static, no libc (clang
// --target=aarch64-linux-gnu, lld), run by the benchmark's /init in the Linux guest.
//
//   keel-nvme-bench run DEV QUEUE MIB COUNT
//     O_DIRECT on block device DEV, queue depth 1: MIB MiB written sequentially in 128 KiB
//     requests, read back the same way, then COUNT 4 KiB reads at pseudo-random 4 KiB-aligned
//     offsets within those MIB MiB. Each phase is timed with the virtual counter (CNTVCT_EL0,
//     read at EL0) and the spinner's count (below), bracketed by "KEEL-BENCH: begin PHASE" /
//     "KEEL-BENCH: end" lines (Keel prints the VM's exit and MSI counters after each such line:
//     arch/arm64/vuart.cpp), and reported as "KEEL-SRIOV: PHASE ios N bytes B ticks T spins S irqs
//     I timer J" (I: the interrupts of the /proc/interrupts lines naming QUEUE, e.g. nvme1q1, over
//     the phase; J: those of the arch_timer line, the guest's timer interrupts). Before the I/O:
//     "calibrate" (nothing between the markers: what the two lines themselves cost), "sleep"
//     (50 ms with only the spinner: the background per timer interrupt) and "syscall" (10,000
//     getppid calls: the guest's own cost of a system call, for reference).
//   keel-nvme-bench provision CTRL VFN NSID
//     On bare Linux, what Keel's PF driver (drivers/sriov/nvme_pf.cpp) does for a VF, through
//     the PF's controller device CTRL (/dev/nvme0) with NVME_IOCTL_ADMIN_CMD (NVMe Base 2.0
//     §5.22 Virtualization Management, §5.20 Namespace Attachment, Identify CNS 15h): the
//     secondary controller of virtual function VFN offline, 2 VQ and 1 VI flexible resources
//     assigned, online, namespace NSID attached to it. Prints each step; exit status 0 only
//     when all succeeded.
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

static long sys6(long nr, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}
#define sys(nr, a, b, c, d) sys6(nr, a, b, c, d, 0, 0)

enum {
    kIoctl = 29,
    kOpenat = 56,
    kClose = 57,
    kRead = 63,
    kWrite = 64,
    kPread = 67,
    kPwrite = 68,
    kExit = 93,
    kNanosleep = 101,
    kSchedSetscheduler = 119,
    kKill = 129,
    kGetppid = 173,
    kClone = 220,
    kMmap = 222,
    kWait4 = 260
};
enum { kAtFdcwd = -100, kRdOnly = 0, kRdWr = 2, kDirect = 0200000 }; // arm64 O_DIRECT
enum { kChunk = 128 * 1024, kBlock = 4096 };

static u8 g_buf[kChunk] __attribute__((aligned(4096)));
static char g_text[16384];

static u32 len(const char* s) {
    u32 n = 0;
    while (s[n])
        ++n;
    return n;
}
static void out(const char* s) { sys(kWrite, 1, (long)s, len(s), 0); }
static void out_u(u64 v) {
    char d[24];
    int k = 0;
    do
        d[k++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    char s[24];
    int n = 0;
    while (k)
        s[n++] = d[--k];
    s[n] = 0;
    out(s);
}
static void die(const char* why) {
    out("KEEL-SRIOV: FAIL: ");
    out(why);
    out("\n");
    sys(kExit, 1, 0, 0, 0);
    for (;;) {
    }
}
static u64 num(const char* s) {
    u64 v = 0;
    if (*s < '0' || *s > '9') die("not a number");
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (u64)(*s++ - '0');
    return v;
}
static u64 cntvct(void) {
    u64 v;
    __asm__ volatile("isb; mrs %0, cntvct_el0; isb" : "=r"(v)::"memory");
    return v;
}
static int has(const char* line, u32 n, const char* word) {
    const u32 w = len(word);
    for (u32 i = 0; i + w <= n; ++i) {
        u32 j = 0;
        while (j < w && line[i + j] == word[j])
            ++j;
        if (j == w) return 1;
    }
    return 0;
}

// The interrupt count of every /proc/interrupts line naming `queue` (e.g. "nvme1q1"): the
// first CPU column (the guest has one CPU).
static u64 irqs(const char* queue) {
    const long fd = sys(kOpenat, kAtFdcwd, (long)"/proc/interrupts", kRdOnly, 0);
    if (fd < 0) die("open /proc/interrupts");
    u32 n = 0;
    for (;;) {
        const long r = sys(kRead, fd, (long)(g_text + n), sizeof g_text - 1 - n, 0);
        if (r <= 0) break;
        n += (u32)r;
        if (n == sizeof g_text - 1) break;
    }
    sys(kClose, fd, 0, 0, 0);
    u64 total = 0;
    for (u32 a = 0; a < n;) {
        u32 b = a;
        while (b < n && g_text[b] != '\n')
            ++b;
        if (has(g_text + a, b - a, queue)) {
            u32 i = a;
            while (i < b && g_text[i] != ':')
                ++i;
            ++i;
            while (i < b && g_text[i] == ' ')
                ++i;
            u64 v = 0;
            while (i < b && g_text[i] >= '0' && g_text[i] <= '9')
                v = v * 10 + (u64)(g_text[i++] - '0');
            total += v;
        }
        a = b + 1;
    }
    return total;
}

// The spinner: a child at SCHED_IDLE that runs whenever the benchmark waits for the device,
// so the core never idles. (Under QEMU -icount with sleep=off an idle core lets virtual time
// jump to the next timer deadline, which depends on when QEMU's main loop completed the
// request: the time would be meaningless.) Its loop is three instructions per iteration and
// counts iterations in a shared page, so the phase's instructions spent waiting are known
// and taken out: what remains is the core's own work for the I/O (guest and hypervisor).
static volatile u64* g_spins;
static long g_spinner;

static void spinner_start(void) {
    enum { kProtRw = 3, kMapSharedAnon = 0x21, kSigchld = 17, kSchedIdle = 5 };
    const long page = sys6(kMmap, 0, 4096, kProtRw, kMapSharedAnon, -1, 0);
    if (page < 0 && page > -4096) die("mmap");
    g_spins = (volatile u64*)page;
    g_spinner = sys(kClone, kSigchld, 0, 0, 0);
    if (g_spinner < 0) die("clone");
    if (g_spinner == 0) {
        const int prio = 0;
        if (sys(kSchedSetscheduler, 0, kSchedIdle, (long)&prio, 0) != 0) die("SCHED_IDLE");
        __asm__ volatile("mov x1, xzr\n1: add x1, x1, #1\n str x1, [%0]\n b 1b" ::"r"(g_spins)
                         : "x1", "memory");
    }
}
static void spinner_stop(void) {
    int status;
    sys(kKill, g_spinner, 9, 0, 0);
    sys(kWait4, g_spinner, (long)&status, 0, 0);
}

struct Phase {
    const char* name;
    u64 t0, i0, j0, s0;
};
static const char* g_queue;

static void begin(struct Phase* p, const char* name) {
    p->name = name;
    p->i0 = irqs(g_queue);
    p->j0 = irqs("arch_timer");
    out("KEEL-BENCH: begin ");
    out(name);
    out("\n");
    p->s0 = *g_spins;
    p->t0 = cntvct();
}
static void end(struct Phase* p, u64 ios, u64 bytes) {
    const u64 t1 = cntvct();
    const u64 s1 = *g_spins;
    out("KEEL-BENCH: end\n");
    const u64 i1 = irqs(g_queue);
    const u64 j1 = irqs("arch_timer");
    out("KEEL-SRIOV: ");
    out(p->name);
    out(" ios ");
    out_u(ios);
    out(" bytes ");
    out_u(bytes);
    out(" ticks ");
    out_u(t1 - p->t0);
    out(" spins ");
    out_u(s1 - p->s0);
    out(" irqs ");
    out_u(i1 - p->i0);
    out(" timer ");
    out_u(j1 - p->j0);
    out("\n");
}

static void run(const char* dev, const char* queue, u64 mib, u64 count) {
    g_queue = queue;
    const long fd = sys(kOpenat, kAtFdcwd, (long)dev, kRdWr | kDirect, 0);
    if (fd < 0) die("open the namespace with O_DIRECT");
    for (u32 i = 0; i < kChunk; ++i)
        g_buf[i] = (u8)(i * 7 + 1);
    const u64 total = mib << 20;
    spinner_start();
    struct Phase p;

    begin(&p, "calibrate");
    end(&p, 0, 0);

    // The spinner alone for 50 ms: what the core does in the background while it waits
    // (the guest's timer tick, and under Keel its exits), per timer interrupt.
    begin(&p, "sleep");
    const long ts[2] = {0, 50000000};
    sys(kNanosleep, (long)ts, 0, 0, 0);
    end(&p, 1, 0);

    // 10,000 null system calls: the guest's own cost of entering and leaving its kernel,
    // which involves no device and no exit (a reference for the I/O figures).
    begin(&p, "syscall");
    for (u32 i = 0; i < 10000; ++i)
        sys(kGetppid, 0, 0, 0, 0);
    end(&p, 10000, 0);

    begin(&p, "seqwrite");
    for (u64 off = 0; off < total; off += kChunk)
        if (sys(kPwrite, fd, (long)g_buf, kChunk, (long)off) != kChunk) die("write");
    end(&p, total / kChunk, total);

    begin(&p, "seqread");
    for (u64 off = 0; off < total; off += kChunk)
        if (sys(kPread, fd, (long)g_buf, kChunk, (long)off) != kChunk) die("read");
    end(&p, total / kChunk, total);

    // 64-bit LCG (Knuth's MMIX constants); the high bits pick the block.
    u64 x = 0x4b45454c; // "KEEL"
    const u64 blocks = total / kBlock;
    begin(&p, "randread");
    for (u64 i = 0; i < count; ++i) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        const u64 off = ((x >> 33) % blocks) * kBlock;
        if (sys(kPread, fd, (long)g_buf, kBlock, (long)off) != kBlock) die("random read");
    }
    end(&p, count, count * kBlock);
    spinner_stop();
    sys(kClose, fd, 0, 0, 0);
    out("KEEL-SRIOV: done\n");
}

// struct nvme_passthru_cmd (linux/nvme_ioctl.h), 72 bytes.
struct Passthru {
    u8 opcode, flags;
    u16 rsvd1;
    u32 nsid, cdw2, cdw3;
    u64 metadata, addr;
    u32 metadata_len, data_len;
    u32 cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
    u32 timeout_ms, result;
};
_Static_assert(sizeof(struct Passthru) == 72, "struct nvme_passthru_cmd");
// _IOWR('N', 0x41, struct nvme_admin_cmd)
#define NVME_IOCTL_ADMIN_CMD (0xc0000000ul | (72ul << 16) | ('N' << 8) | 0x41)

static long g_ctrl;
static u32 admin(const char* what, u8 op, u32 nsid, u32 cdw10, u32 cdw11, void* data,
                 u32 data_len) {
    struct Passthru c = {0};
    c.opcode = op;
    c.nsid = nsid;
    c.addr = (u64)data;
    c.data_len = data_len;
    c.cdw10 = cdw10;
    c.cdw11 = cdw11;
    const long r = sys(kIoctl, g_ctrl, (long)NVME_IOCTL_ADMIN_CMD, (long)&c, 0);
    out("KEEL-SRIOV: provision: ");
    out(what);
    if (r != 0) {
        out(r < 0 ? ": error -" : ": status ");
        out_u((u64)(r < 0 ? -r : r));
        out("\n");
        die(what);
    }
    out(": ok, result ");
    out_u(c.result);
    out("\n");
    return c.result;
}

static void provision(const char* ctrl, u64 vfn, u64 nsid) {
    enum { kIdentify = 0x06, kNsAttach = 0x15, kVirtMgmt = 0x1c };
    enum { kOffline = 0x7, kAssign = 0x8, kOnline = 0x9, kVq = 0, kVi = 1 };
    g_ctrl = sys(kOpenat, kAtFdcwd, (long)ctrl, kRdWr, 0);
    if (g_ctrl < 0) die("open the PF's controller device");
    u8* page = g_buf;
    // Identify CNS 15h: the secondary controller list (Figure 281: count at byte 0, 32-byte
    // entries from byte 32: SCID at 0, SCS bit 0 at 4, VFN at 8).
    admin("identify secondary controllers", kIdentify, 0, 0x15, 0, page, kBlock);
    u32 scid = 0xffff;
    for (u32 i = 0; i < page[0]; ++i) {
        const u8* e = page + 32 + 32 * i;
        if ((u64)(e[8] | e[9] << 8) == vfn) scid = (u32)(e[0] | e[1] << 8);
    }
    if (scid == 0xffff) die("no secondary controller for that VF");
    out("KEEL-SRIOV: provision: VF ");
    out_u(vfn);
    out(" is secondary controller ");
    out_u(scid);
    out("\n");
    admin("offline", kVirtMgmt, 0, kOffline | kVq << 8 | scid << 16, 0, 0, 0);
    if (admin("assign 2 VQ", kVirtMgmt, 0, kAssign | kVq << 8 | scid << 16, 2, 0, 0) != 2)
        die("VQ resources");
    if (admin("assign 1 VI", kVirtMgmt, 0, kAssign | kVi << 8 | scid << 16, 1, 0, 0) != 1)
        die("VI resources");
    admin("online", kVirtMgmt, 0, kOnline | kVq << 8 | scid << 16, 0, 0, 0);
    // Controller list (Figure 137): count, then identifiers.
    for (u32 i = 0; i < kBlock; ++i)
        page[i] = 0;
    page[0] = 1;
    page[2] = (u8)scid;
    page[3] = (u8)(scid >> 8);
    admin("attach namespace", kNsAttach, (u32)nsid, 0, 0, page, kBlock);
    sys(kClose, g_ctrl, 0, 0, 0);
    out("KEEL-SRIOV: provision: done\n");
}

static int same(const char* a, const char* b) {
    while (*a && *a == *b)
        ++a, ++b;
    return *a == *b;
}

void start(long* sp) {
    const long argc = sp[0];
    char** argv = (char**)(sp + 1);
    if (argc == 6 && same(argv[1], "run"))
        run(argv[2], argv[3], num(argv[4]), num(argv[5]));
    else if (argc == 5 && same(argv[1], "provision"))
        provision(argv[2], num(argv[3]), num(argv[4]));
    else
        die("usage: keel-nvme-bench run DEV QUEUE MIB COUNT | provision CTRL VFN NSID");
    sys(kExit, 0, 0, 0, 0);
    for (;;) {
    }
}

// The ELF entry: the initial stack holds argc, then argv (Linux's arm64 process start).
__asm__(".globl _start\n_start:\n mov x0, sp\n bl start\n");
