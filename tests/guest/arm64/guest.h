// Shared by the arm64 test guest's files: console, hypercalls, modes (the hypervisor's
// GuestMode, hypervisor/vm/vm_def.hpp, arrives in x3).
#pragma once

#include <stdint.h>

#define UART_DR ((volatile uint32_t*)0x09000000)
#define UART_FR ((volatile uint32_t*)0x09000018)
#define FR_TXFF (1u << 5)
#define FR_RXFE (1u << 4)

static inline void putc_(char c) {
    while (*UART_FR & FR_TXFF) {
    }
    *UART_DR = (uint32_t)(unsigned char)c;
}
#include "../guest_print.h"

#define PSCI_VERSION 0x84000000u
#define PSCI_SYSTEM_OFF 0x84000008u
#define KEEL_NULL_CALL 0xc6000000u

#include "../guest_modes.h"

static inline uint64_t hvc(uint64_t fn) {
    register uint64_t x0 __asm__("x0") = fn;
    __asm__ volatile("hvc #0" : "+r"(x0) : : "x1", "x2", "x3", "memory");
    return x0;
}
static inline uint64_t smc(uint64_t fn) {
    register uint64_t x0 __asm__("x0") = fn;
    __asm__ volatile("smc #0" : "+r"(x0) : : "x1", "x2", "x3", "memory");
    return x0;
}
static inline uint64_t cntvct(void) {
    uint64_t v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    return v;
}

// Register names may be macros (S3_0_C12_C12_0 spellings): expanded before stringizing.
#define SYSREG_STR_(x) #x
#define SYSREG_STR(x) SYSREG_STR_(x)
#define READ_SYSREG(name)                                                                          \
    ({                                                                                             \
        uint64_t v_;                                                                               \
        __asm__ volatile("mrs %0, " SYSREG_STR(name) : "=r"(v_));                                  \
        v_;                                                                                        \
    })
#define WRITE_SYSREG(name, v)                                                                      \
    __asm__ volatile("msr " SYSREG_STR(name) ", %0; isb" : : "r"((uint64_t)(v)))

// Exception dispatch (start.S vectors -> guest.c): a mode's handler for the synchronous
// exceptions and IRQs it provokes. A handler returns 1 if it dealt with the exception.
extern int (*g_sync_hook)(uint64_t esr);
extern void (*g_irq_hook)(void);
extern char guest_vectors[];

// The architecture checks (arch_checks.c, gic.c), one a mode; each prints its verdict.
void check_fetch_abort(uint64_t ram_base, uint64_t ram_size);
void check_phys_timer(void);
void check_debug(void);
void check_button(void);
void check_nvme(uint64_t vm_id, uint64_t ram_base, uint64_t ram_size);
void debug_regs_fill(uint64_t pattern);
int debug_regs_check(void);
