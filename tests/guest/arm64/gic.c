#include "gic.h"

#include "guest.h"

static void gic_cpu_up(void) {
    REG32(GICD) = (1u << 4) | (1u << 1); // GICD_CTLR: ARE, EnableGrp1
    REG32(GICR + 0x14) &= ~(1u << 1);    // GICR_WAKER.ProcessorSleep
    while (REG32(GICR + 0x14) & (1u << 2)) {
    }
    WRITE_SYSREG(ICC_SRE, READ_SYSREG(ICC_SRE) | 1);
    WRITE_SYSREG(ICC_PMR, 0xff);
    WRITE_SYSREG(ICC_IGRPEN1, 1);
}

void gic_enable_ppis(uint32_t mask) {
    gic_cpu_up();
    REG32(GICR_SGI + 0x80) |= mask; // IGROUPR0
    for (uint32_t i = 16; i < 32; ++i)
        if (mask & (1u << i)) *(volatile uint8_t*)(GICR_SGI + 0x400 + i) = 0x80;
    REG32(GICR_SGI + 0x100) = mask; // ISENABLER0
}

void gic_enable_spi(uint32_t intid) {
    gic_cpu_up();
    const uint32_t word = intid / 32, bit = 1u << (intid % 32);
    REG32(GICD + 0x80 + 4 * word) |= bit;                                  // IGROUPR<n>
    *(volatile uint8_t*)(GICD + 0x400 + intid) = 0x80;                     // IPRIORITYR
    REG32(GICD + 0xc00 + 4 * (intid / 16)) &= ~(2u << (2 * (intid % 16))); // ICFGR: level
    *(volatile uint64_t*)(GICD + 0x6000 + 8 * intid) = 0;                  // IROUTER: vCPU 0
    REG32(GICD + 0x100 + 4 * word) = bit;                                  // ISENABLER<n>
}
