/* Application-processor entry (SDM Vol. 3A 9.4.4 "MP initialization example", 10.8.5
 * "Initializing IA-32e mode"). smp.cpp copies the trampoline to KEEL_X86_AP_TRAMPOLINE
 * (0x8000: the SIPI vector 0x08 names that page), writes the hypervisor's CR3 and where
 * ap_entry64 runs into the copy, and fills ap_boot_{stack,cpu} per AP:
 *
 *   SIPI -> 0x8000 real mode (CS = 0x0800) -> lgdt (the copy's GDT), CR0.PE -> tramp_32
 *   (in the copy, paging off) -> CR4.PAE, CR3, EFER.LME|NXE, CR0.PG|WP -> far jump to
 *   ap_entry64 in the image -> stack -> x86_ap_main(cpu index)
 *
 * Everything that runs before paging lies in the copied page and names only addresses in
 * it (KEEL_X86_AP_TRAMPOLINE + offset), so the trampoline works wherever the image runs
 * (a relocated image, docs/handover.md §1.4); the one address of the image it needs, the
 * 64-bit entry, is written into the copy by smp.cpp (below 4 GiB, like the image). */
#include "asm_offsets.h"

#define CR0_PE (1 << 0)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define SEL_CODE32 0x18
/* A label's address in the copy. */
#define AT(label) (KEEL_X86_AP_TRAMPOLINE + ((label) - ap_trampoline_start))

    .section .rodata.ap_trampoline, "a"
    .code16
    .globl ap_trampoline_start, ap_trampoline_end, ap_tramp_cr3, ap_tramp_entry64
ap_trampoline_start:
    cli
    cld
    mov     %cs, %ax
    mov     %ax, %ds
    lgdtl   (tramp_gdt_ptr - ap_trampoline_start) /* DS:offset: inside the copied page */
    mov     %cr0, %eax
    or      $CR0_PE, %eax
    mov     %eax, %cr0
    ljmpl   $SEL_CODE32, $AT(tramp_32)

    .code32
tramp_32:
    mov     $KEEL_X86_SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     AT(ap_tramp_cr3), %eax      /* the PML4 lies in the image: below 4 GiB */
    mov     %eax, %cr3
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $(EFER_LME | EFER_NXE), %eax /* NXE: the tables use XD (the BSP checked it) */
    wrmsr
    mov     %cr0, %eax
    or      $(CR0_PG | CR0_WP), %eax
    mov     %eax, %cr0
    ljmpl   *AT(ap_tramp_entry64)       /* into the 64-bit code segment: long mode */

    .balign 8
tramp_gdt:                              /* the final GDT's layout plus a 32-bit code segment */
    .quad   0
    .quad   0x00af9b000000ffff          /* 0x08: 64-bit code (accessed preset) */
    .quad   0x00cf93000000ffff          /* 0x10: data */
    .quad   0x00cf9b000000ffff          /* 0x18: 32-bit code, 4 GiB flat */
tramp_gdt_end:
tramp_gdt_ptr:
    .short  tramp_gdt_end - tramp_gdt - 1
    .long   AT(tramp_gdt)
    .balign 4
ap_tramp_cr3:                           /* written by smp.cpp */
    .long   0
ap_tramp_entry64:                       /* far pointer: offset (smp.cpp), selector */
    .long   0
    .short  KEEL_X86_SEL_CODE64
ap_trampoline_end:

    .text
    .code64
    .globl ap_entry64
ap_entry64:
    mov     $KEEL_X86_SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    xor     %eax, %eax
    mov     %eax, %fs
    mov     %eax, %gs
    mov     ap_boot_stack(%rip), %rsp
    mov     ap_boot_cpu(%rip), %edi
    xor     %ebp, %ebp
    call    x86_ap_main
1:  cli
    hlt
    jmp     1b

    .data
    .balign 8
    .globl ap_boot_stack, ap_boot_cpu
ap_boot_stack:
    .quad   0
ap_boot_cpu:
    .quad   0

    .section .note.GNU-stack, "", @progbits
