// Shared by the test guest's files: console, hypercalls, checks.
#pragma once

#include <stdint.h>

enum { HC_NULL = 0, HC_ECHO = 1, HC_TIMER = 2, HC_POWER_OFF = 3 };
#define SCRATCH 0xfed00000ull

static inline void outb_(uint16_t port, uint8_t v) {
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t inb_(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void putc_(char c) {
    while (!(inb_(0x3fd) & 0x20)) {
    }
    outb_(0x3f8, (uint8_t)c);
}
#include "../../guest_print.h"
// Keel's hypercall instruction: VMCALL under VT-x, VMMCALL under AMD SVM (each is #UD on
// the other vendor's CPUs); g_vmmcall is set from the CPUID vendor before the first call.
extern int g_vmmcall;
static inline uint64_t hc_vmcall(uint64_t nr, uint64_t arg) {
    uint64_t rax = nr;
    __asm__ volatile("vmcall" : "+a"(rax) : "b"(arg) : "memory");
    return rax;
}
static inline uint64_t hc_vmmcall(uint64_t nr, uint64_t arg) {
    uint64_t rax = nr;
    __asm__ volatile("vmmcall" : "+a"(rax) : "b"(arg) : "memory");
    return rax;
}
static inline uint64_t vmcall(uint64_t nr, uint64_t arg) {
    return g_vmmcall ? hc_vmmcall(nr, arg) : hc_vmcall(nr, arg);
}
static inline void cpuid_(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(sub));
}
static inline uint64_t rdmsr64(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr64(uint32_t msr, uint64_t v) {
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc_(void) {
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

extern volatile uint32_t g_gp_count;
void check(int ok, const char* what);
uint32_t gp_before(unsigned len);
void check_cpuid(void);
void check_msrs(void);
void check_control_registers(void);
void check_rtc(void);
void check_mmio(void);
void run_bench(void);
// deaf, gaps (gaps.c): never returns.
__attribute__((noreturn)) void run_until_stopped(uint64_t mode);
void run_smp(unsigned cpus, uint64_t base);
void run_mmio_smp(unsigned cpus, uint64_t base);
void idt_load(void);
void apic_enable(void);
void run_apic_checks(void);
void run_apic_smp_checks(void);
void bench_report(const char* what, uint64_t ticks, uint64_t rounds);
void run_timer_bench(unsigned rounds);
void guest_power_off(void);
void check_nvme(uint64_t vm_id, uint64_t ram_base, uint64_t ram_size);
