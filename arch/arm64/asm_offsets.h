// clang-format off: also included by assembly sources.
/* Constants and helper macros shared by the arm64 assembly and C++ (exception frame
 * layout is static_assert'ed in exception.cpp). */
#pragma once

#define KEEL_ARM64_STACK_SIZE 16384
/* Cores a live update's incoming image can take in (handover_jump.S; = PerCpu::kMaxCpus). */
#define KEEL_HANDOVER_CPUS 8

/* Exception frame: x0..x30, sp, elr, spsr, esr, far (36 x 8 bytes). */
#define FRAME_X0 0
#define FRAME_SP (31 * 8)
#define FRAME_ELR (32 * 8)
#define FRAME_SPSR (33 * 8)
#define FRAME_ESR (34 * 8)
#define FRAME_FAR (35 * 8)
#define FRAME_SIZE (36 * 8)

#ifdef __ASSEMBLER__
/* PC-relative address of a symbol anywhere within +-4 GiB. */
/* clang-format off */
.macro adr_l reg, sym
    adrp    \reg, \sym
    add     \reg, \reg, :lo12:\sym
.endm
/* clang-format on */
#endif
