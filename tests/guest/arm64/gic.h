// The test guest's view of its virtual GICv3 (Arm IHI 0069; addresses as on QEMU virt,
// which Keel's guest-visible machine follows: docs/vm-definitions.md).
#pragma once

#include <stdint.h>

#define GICD 0x08000000ull
#define GICR 0x080a0000ull // vCPU 0's redistributor
#define GICR_SGI (GICR + 0x10000)
#define REG32(a) (*(volatile uint32_t*)(a))
#define ICC_IAR1 S3_0_C12_C12_0
#define ICC_EOIR1 S3_0_C12_C12_1
#define ICC_PMR S3_0_C4_C6_0
#define ICC_IGRPEN1 S3_0_C12_C12_7
#define ICC_SRE S3_0_C12_C12_5

// Distributor Group 1 on, this vCPU's redistributor awake, CPU interface open; then the
// given PPIs (bitmask of INTIDs 16-31) Group 1, priority 0x80, enabled.
void gic_enable_ppis(uint32_t mask);
// One SPI: Group 1, priority 0x80, routed to vCPU 0, level-sensitive, enabled.
void gic_enable_spi(uint32_t intid);
