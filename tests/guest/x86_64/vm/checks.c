// CPUID filtering, the MSR allow-list and CR4/XSETBV validation, seen from the guest.
#include "guest.h"

void check_cpuid(void) {
    uint32_t r[4];
    cpuid_(0, 0, r);
    char vendor[13];
    __builtin_memcpy(vendor, &r[1], 4);
    __builtin_memcpy(vendor + 4, &r[3], 4);
    __builtin_memcpy(vendor + 8, &r[2], 4);
    vendor[12] = 0;
    puts_("cpuid: vendor ");
    puts_(vendor);
    putc_('\n');
    cpuid_(1, 0, r);
    check(!(r[2] & (1u << 5)), "cpuid: leaf 1 VMX bit clear");
    check((r[2] >> 31) & 1, "cpuid: leaf 1 hypervisor bit set");
    check(((r[1] >> 16) & 0xff) == 1, "cpuid: leaf 1 one logical processor (the VM's core)");
    cpuid_(0x40000000, 0, r);
    check(r[1] == 0x6c65654b && r[2] == 0x6c65654b && r[3] == 0x6c65654b,
          "cpuid: leaf 0x40000000 signature KeelKeelKeel");
    cpuid_(0xb, 1, r);
    check(r[1] == 1 && ((r[2] >> 8) & 0xff) == 2, "cpuid: leaf 0xb core level lists 1 processor");
    cpuid_(0x80000001, 0, r);
    check(!(r[2] & (1u << 2)), "cpuid: leaf 0x80000001 SVM bit clear");
    // Not enabled or not switched per VM by either backend (SDM Vol. 3C table 25-7: INVPCID
    // and XSAVES would #UD under VMX): hidden.
    cpuid_(7, 0, r);
    check(!(r[1] & (1u << 10)) && !(r[1] & (1u << 1)),
          "cpuid: leaf 7 INVPCID and TSC_ADJUST clear");
    cpuid_(0xd, 1, r);
    check(!(r[0] & (1u << 3)), "cpuid: leaf 0xd.1 XSAVES clear");
    cpuid_(6, 0, r);
    check((r[0] & ~(1u << 2)) == 0 && r[2] == 0, "cpuid: leaf 6 ARAT at most");
    cpuid_(0xa, 0, r);
    check(r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == 0,
          "cpuid: leaf 0xa no performance monitoring");
}

static uint64_t rdmsr_(uint32_t msr) {
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
    return ((uint64_t)hi << 32) | lo;
}
static void wrmsr_(uint32_t msr, uint64_t v) {
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

void check_msrs(void) {
    check(rdmsr_(0x277) == 0x0007040600070406ull, "msr: rdmsr IA32_PAT = power-on default");
    wrmsr_(0x277, 0x0007010600070406ull);
    check(rdmsr_(0x277) == 0x0007010600070406ull, "msr: wrmsr IA32_PAT reads back");
    uint32_t n = gp_before(2);
    wrmsr_(0x277, 0x0002000000000000ull); // type 2 is reserved
    check(g_gp_count == n + 1, "msr: wrmsr IA32_PAT with a reserved type -> #GP");
    n = gp_before(2);
    (void)rdmsr_(0x480);
    check(g_gp_count == n + 1,
          "msr: rdmsr IA32_VMX_BASIC (not allowed) -> #GP caught by the guest IDT");
    n = gp_before(2);
    wrmsr_(0x1b, 0);
    check(g_gp_count == n + 1, "msr: wrmsr IA32_APIC_BASE (not allowed) -> #GP");
    // Passed through: no exit, so no #GP (the hypervisor refuses it if it exits). The
    // value must count, except where the platform has no IA32_TSC MSR at all: QEMU 7.2's
    // TCG reads every MSR it does not implement as 0, this one included (its helper_rdmsr
    // has no IA32_TSC case), with or without a hypervisor; that is said, not hidden.
    n = gp_before(2);
    uint64_t a = rdmsr_(0x10), b = rdmsr_(0x10);
    if (a == 0 && b == 0 && g_gp_count == n)
        puts_("msr: rdmsr IA32_TSC reads 0: the platform implements no IA32_TSC MSR (QEMU TCG)\n");
    check(g_gp_count == n && (b > a || (a == 0 && b == 0)),
          "msr: rdmsr IA32_TSC passes through the bitmap");
    wrmsr_(0xc0000100, 0x12345000);
    check(rdmsr_(0xc0000100) == 0x12345000, "msr: IA32_FS_BASE passes through the bitmap");
}

void check_control_registers(void) {
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    check(!(cr4 & (1u << 13)), "cr: CR4.VMXE reads 0");
    uint32_t n = gp_before(3);
    uint64_t vmxe = cr4 | (1u << 13);
    __asm__ volatile(".byte 0x0f, 0x22, 0xe0" ::"a"(vmxe) : "memory"); // mov cr4, rax (3 bytes)
    check(g_gp_count == n + 1, "cr: setting CR4.VMXE -> #GP");
    uint32_t r[4];
    cpuid_(1, 0, r);
    if (!(r[2] & (1u << 26))) {
        puts_("xsetbv: no XSAVE on this CPU, skipped\n");
        return;
    }
    // OSXSAVE in CPUID is the guest's CR4.OSXSAVE, not the hypervisor's (SDM Vol. 2A CPUID).
    check(!(cr4 & (1u << 18)) && !(r[2] & (1u << 27)),
          "cpuid: leaf 1 OSXSAVE clear while CR4.OSXSAVE is 0");
    cr4 |= 1u << 18; // OSXSAVE
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4) : "memory");
    cpuid_(1, 0, r);
    check((r[2] >> 27) & 1, "cpuid: leaf 1 OSXSAVE set once CR4.OSXSAVE is 1");
    n = gp_before(3);
    __asm__ volatile("xsetbv" ::"c"(0), "a"(2), "d"(0) : "memory"); // x87 bit clear: invalid
    check(g_gp_count == n + 1, "xsetbv: XCR0 without x87 -> #GP");
    n = gp_before(3);
    __asm__ volatile("xsetbv" ::"c"(0), "a"(3), "d"(0) : "memory"); // x87 | SSE
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    check(g_gp_count == n && lo == 3, "xsetbv: XCR0 = x87|SSE accepted");
    // The compacted XSAVE size of XCR0 | IA32_XSS = x87|SSE: the legacy region and the
    // header, 576 bytes (SDM Vol. 1 13.4.3), whatever the core's own IA32_XSS holds.
    cpuid_(0xd, 1, r);
    check(r[1] == 576, "cpuid: leaf 0xd.1 EBX is 576 for XCR0 = x87|SSE");
}

// The CMOS real-time clock at ports 0x70/0x71 (MC146818A data sheet): register A's UIP
// (bit 7) never set, register D's VRT (bit 7) set, register B at its PC power-on value
// (24-hour, BCD), and the date registers hold BCD digits of a real date in this century
// (the platform's clock: QEMU and Bochs both start the RTC at the host's time).
static uint8_t cmos_(uint8_t index) {
    outb_(0x70, index);
    return inb_(0x71);
}
static int bcd_ok_(uint8_t v, int lo, int hi) {
    if ((v & 0xf) > 9 || (v >> 4) > 9) return 0;
    const int d = (v >> 4) * 10 + (v & 0xf);
    return d >= lo && d <= hi;
}

void check_rtc(void) {
    check(!(cmos_(0x0a) & 0x80) && (cmos_(0x0d) & 0x80),
          "rtc: no update in progress (register A), valid time (register D)");
    check(cmos_(0x0b) == 0x02, "rtc: register B at power-on: 24-hour, BCD");
    const uint8_t s = cmos_(0x00), m = cmos_(0x02), h = cmos_(0x04), d = cmos_(0x07),
                  mo = cmos_(0x08), y = cmos_(0x09), c = cmos_(0x32);
    check(bcd_ok_(s, 0, 59) && bcd_ok_(m, 0, 59) && bcd_ok_(h, 0, 23) && bcd_ok_(d, 1, 31) &&
              bcd_ok_(mo, 1, 12) && bcd_ok_(y, 25, 99) && c == 0x20,
          "rtc: the time and date are BCD digits of a date from 2025 on");
}
