// clang-format off: also included by assembly sources.
/* Constants shared by the x86_64 assembly and C++. Every frame offset is
 * static_assert'ed against the C++ struct in exception.cpp; the selectors
 * against the GDT built in descriptors.cpp. */
#pragma once

#define KEEL_X86_STACK_SIZE 16384 /* boot CPU stack */
#define KEEL_X86_IST_SIZE 8192    /* #DF stack (IST1): a stack overflow still reports */

/* Where smp.cpp copies the AP trampoline (ap_boot.S): below 1 MiB, page aligned, the page
 * SIPI vector 0x08 names. */
#define KEEL_X86_AP_TRAMPOLINE 0x8000

/* CPUs Keel brings up (descriptors.hpp kMaxCpus), and the stack each core of the outgoing
 * image gets when it visits the incoming one at a live update (handover_secondary.S). */
#define KEEL_X86_MAX_CPUS 8
#define KEEL_X86_HANDOVER_STACK_SHIFT 13 /* 8 KiB */

/* GDT selectors, the same in the early (start.S) and the final (descriptors.cpp) GDT. */
#define KEEL_X86_SEL_CODE64 0x08
#define KEEL_X86_SEL_DATA 0x10
#define KEEL_X86_SEL_TSS 0x18

/* Exception frame built by vectors.S: 15 GPRs (r15 lowest), vector, error code,
 * then what the CPU pushed (SDM Vol. 3A 6.14.2: RIP, CS, RFLAGS, RSP, SS). */
#define FRAME_R15 0
#define FRAME_RAX (14 * 8)
#define FRAME_VECTOR (15 * 8)
#define FRAME_ERROR (16 * 8)
#define FRAME_RIP (17 * 8)
#define FRAME_SS (21 * 8)
#define FRAME_SIZE (22 * 8)

#define KEEL_X86_EXCEPTION_VECTORS 32
/* The one interrupt vector the hypervisor takes: its local APIC timer ("kick", apic.hpp),
 * which ends a guest's run so that Keel can deliver the guest's own timer. */
#define KEEL_X86_KICK_VECTOR 32
#define KEEL_X86_IDT_VECTORS 256
/* Host vectors of assigned devices' MSIs (virt/vm_msi.cpp, vectors.S) and the local
   APIC's spurious vector (apic.cpp's SVR). */
#define KEEL_X86_MSI_VECTOR_FIRST 0x40
#define KEEL_X86_MSI_VECTORS 64
#define KEEL_X86_SPURIOUS_VECTOR 0xff
#define KEEL_X86_STUB_SIZE 16 /* each vector stub is padded to 16 bytes */
