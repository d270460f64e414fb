// Keel's x86_64 test guest (freestanding C, 64-bit, identity paging). It checks, from
// inside the VM, what the hypervisor must get right: filtered CPUID, the MSR allow-list
// (#GP caught by its own IDT), the COM1 console, MMIO emulation of every supported
// instruction form against the echoing scratch device, CR4/XSETBV validation, a timer
// interrupt waking HLT, zeroed memory, (mode "wild") an access beyond its RAM, and with
// several vCPUs the topology and starting the APs with INIT/SIPI (smp.c) instead; (mode
// "mmio") every vCPU hammering the scratch MMIO page at once (smp.c).
// Every line it prints is a marker the Bochs tests look for; failures print "FAIL".
#include <stdint.h>

#include "guest.h"

#include "../../guest_modes.h"

void regs_fill(uint64_t pattern);
void regs_read(uint64_t out[40]);

// The SYSCALL/SWAPGS MSRs a guest owns without exits (STAR, LSTAR, CSTAR, SFMASK,
// KernelGsBase): under VMX they stay in the core while the VM runs, so the next VM there
// must find them at their reset value, 0 (SDM Vol. 3A 10.1.1 table 10-1). Fill values are
// canonical where the MSR needs it; SFMASK's upper half is reserved.
static const uint32_t k_syscall_msrs[5] = {0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
                                           0xc0000102};
static const char* const k_syscall_names[5] = {"star", "lstar", "cstar", "sfmask",
                                               "kernel_gs_base"};
static const uint64_t k_syscall_fill[5] = {0x0023001011223344ull, 0xffffffff81234560ull,
                                           0xffffffff81234580ull, 0x47700ull,
                                           0xffff888012345000ull};

static int syscall_msrs_fill(void) {
    int bad = 0;
    for (int i = 0; i < 5; ++i) {
        wrmsr64(k_syscall_msrs[i], k_syscall_fill[i]);
        if (rdmsr64(k_syscall_msrs[i]) == k_syscall_fill[i]) continue;
        puts_("regs: FAIL: ");
        puts_(k_syscall_names[i]);
        puts_(" does not read back what was written\n");
        ++bad;
    }
    return bad;
}

static int syscall_msrs_check(void) {
    int bad = 0;
    for (int i = 0; i < 5; ++i) {
        const uint64_t v = rdmsr64(k_syscall_msrs[i]);
        if (v == 0) continue;
        puts_("regs: NOT reset: ");
        puts_(k_syscall_names[i]);
        puts_(" = ");
        puthex(v);
        putc_('\n');
        ++bad;
    }
    return bad;
}

// Issue 10 item 1 (regs.S): the reset values Keel promises a vCPU's first entry
// (docs/vm-lifecycle.md "Reset state"): XMM zero, MXCSR 0x1f80, x87 FCW 0x037f with an
// empty stack (FSW 0, FTW 0), DR0-DR3 zero, and the SYSCALL/SWAPGS MSRs zero.
static void regs_check(void) {
    static uint64_t r[40];
    regs_read(r);
    static const char* const names[8] = {"mxcsr", "fcw", "fsw", "ftw", "dr0", "dr1", "dr2", "dr3"};
    static const uint64_t want[8] = {0x1f80, 0x037f, 0, 0, 0, 0, 0, 0};
    int bad = 0;
    for (int i = 0; i < 32; ++i) {
        if (r[i] == 0) continue;
        puts_("regs: NOT reset: xmm");
        putdec((uint64_t)(i / 2));
        puts_(i % 2 ? " high = " : " low = ");
        puthex(r[i]);
        putc_('\n');
        ++bad;
    }
    for (int i = 0; i < 8; ++i) {
        if (r[32 + i] == want[i]) continue;
        puts_("regs: NOT reset: ");
        puts_(names[i]);
        puts_(" = ");
        puthex(r[32 + i]);
        putc_('\n');
        ++bad;
    }
    bad += syscall_msrs_check();
    if (!bad) puts_("regs: all at reset values\n");
}

static void sse_on(void) {
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1u << 9) | (1u << 10))); // OSFXSR, OSXMMEXCPT
}

int g_vmmcall;                  // AMD: the hypercall is VMMCALL (guest.h)
volatile uint64_t g_fault_skip; // bytes the #GP handler skips
volatile uint32_t g_gp_count;
volatile uint32_t g_ticks;
unsigned g_failures;

struct IdtGate {
    uint64_t low, high;
};
static struct IdtGate g_idt[256] __attribute__((aligned(16)));
extern char gp_stub[], timer_stub[], unexpected_stub[];

void set_gate(unsigned v, void* handler) {
    uint64_t h = (uint64_t)handler;
    g_idt[v].low =
        (h & 0xffff) | (0x08ull << 16) | (0xeull << 40) | (1ull << 47) | ((h >> 16 & 0xffff) << 48);
    g_idt[v].high = h >> 32;
}

static void idt_init(void) {
    for (unsigned v = 0; v < 32; ++v)
        set_gate(v, unexpected_stub);
    set_gate(13, gp_stub);
    set_gate(0x20, timer_stub);
    idt_load();
}

void idt_load(void) { // also every AP's, once in 64-bit mode
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {sizeof g_idt - 1, (uint64_t)g_idt};
    __asm__ volatile("lidt %0" ::"m"(idtr));
}

void guest_unexpected(uint64_t* frame) {
    puts_("FAIL: unexpected exception, frame RIP ");
    puthex(frame[0]);
    putc_('\n');
    vmcall(HC_POWER_OFF, 0);
}

void check(int ok, const char* what) {
    if (!ok) ++g_failures;
    puts_(ok ? "" : "FAIL: ");
    puts_(what);
    puts_(ok ? " ok\n" : "\n");
}

// Expects a #GP from `insn` (run by the caller) that the handler skips (len bytes).
uint32_t gp_before(unsigned len) {
    g_fault_skip = len;
    return g_gp_count;
}

static void check_memory(uint64_t base, uint64_t size) {
    // The scrubbing check: a page in the middle of RAM must be zero when the VM starts,
    // then gets a pattern (a VM that reuses this memory later must not see it).
    volatile uint64_t* p = (volatile uint64_t*)(base + size / 2);
    int zero = 1;
    for (unsigned i = 0; i < 512; ++i)
        zero &= p[i] == 0;
    check(zero, "memory: RAM is zeroed at start");
    for (unsigned i = 0; i < 512; ++i)
        p[i] = 0xa5a5a5a5a5a5a5a5ull;
}

static void check_timer(void) {
    uint32_t before = g_ticks;
    vmcall(HC_TIMER, 200000); // one-shot, 200,000 TSC ticks from now
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    check(g_ticks == before + 1, "timer: interrupt 0x20 woke the HLT");
}

void guest_power_off(void) { vmcall(HC_POWER_OFF, 0); }

// Hostile modes: what no guest may do to anything but itself. VMRUN is intercepted
// unconditionally under SVM (and #UD under VT-x); a triple fault (an exception with no
// usable IDT: #GP, then #DF, then shutdown) ends only this VM.
static void hostile(uint64_t mode) {
    if (mode == MODE_VMRUN) {
        puts_("hostile: executing VMRUN\n");
        __asm__ volatile("vmrun" ::"a"(0ull) : "memory");
        puts_("FAIL: VMRUN returned to the guest\n");
        return;
    }
    puts_("hostile: triple fault\n");
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } none = {0, 0};
    __asm__ volatile("lidt %0; int3" ::"m"(none) : "memory");
    puts_("FAIL: the triple fault returned to the guest\n");
}

static void wild(uint64_t base, uint64_t size) {
    puts_("wild: reading the first byte beyond RAM\n");
    volatile uint8_t* p = (volatile uint8_t*)(base + size);
    (void)*p;
    puts_("FAIL: the read beyond RAM returned\n");
}

static int cpu_is_amd(void) {
    uint32_t r[4];
    cpuid_(0, 0, r);
    return r[1] == 0x68747541 /* "Auth"enticAMD */ || r[1] == 0x6f677948 /* "Hygo"nGenuine */;
}

void guest_main(uint64_t id, uint64_t base, uint64_t size, uint64_t mode) {
    g_vmmcall = cpu_is_amd();
    idt_init();
    puts_(g_vmmcall ? "hello from a 64-bit guest under SVM: vm "
                    : "hello from a 64-bit guest under VT-x: vm ");
    putdec(id);
    puts_(", RAM ");
    puthex(base);
    puts_(" size ");
    puthex(size);
    putc_('\n');
    if (mode == MODE_REGFILL || mode == MODE_REGCHECK) {
        sse_on();
        if (mode == MODE_REGFILL) {
            regs_fill(0x1122334455667788ull);
            if (!syscall_msrs_fill()) puts_("regs: filled\n");
        } else {
            regs_check();
        }
        return;
    }
    check_memory(base, size);
    uint32_t r[4];
    cpuid_(0xb, 1, r); // the VM's vCPU count (core level of the topology leaf)
    if (mode == MODE_BASIC && (r[1] & 0xffff) > 1) {
        run_smp(r[1] & 0xffff, base);
        run_apic_smp_checks();
        return;
    }
    if (mode == MODE_MMIO) {
        run_mmio_smp(r[1] & 0xffff, base);
        return;
    }
    if (mode == MODE_BENCH) {
        run_bench();
        return;
    }
    if (mode == MODE_WILD) {
        wild(base, size);
        return;
    }
    if (mode == MODE_VMRUN || mode == MODE_TRIPLE) {
        hostile(mode);
        return;
    }
    if (mode == MODE_DEAF || mode == MODE_GAPS) run_until_stopped(mode);
    if (mode == MODE_NVME) {
        check_nvme(id, base, size);
        return;
    }
    if (mode == MODE_RESET) {
        // The FADT's sleep control register (ACPI 6.5 4.8.3.7): SLP_EN with SLP_TYP 3 is no
        // \_S5 and must not power off; then the reset register (0xcf9, value 6).
        puts_("reset: SLP_EN with SLP_TYP 3\n");
        outb_(0x600, (3u << 2) | (1u << 5));
        puts_("reset: still running, writing 6 to port 0xcf9\n");
        outb_(0xcf9, 0x06);
        puts_("FAIL: the reset returned to the guest\n");
        return;
    }
    check_cpuid();
    check_msrs();
    check_control_registers();
    check_rtc();
    check_mmio();
    check_timer();
    run_apic_checks();
    check(vmcall(HC_ECHO, 0x41) == 0x42, "vmcall: echo 0x41 -> 0x42");
    if (g_failures == 0)
        puts_("all checks passed\n");
    else
        puts_("FAIL: some checks failed\n");
}
