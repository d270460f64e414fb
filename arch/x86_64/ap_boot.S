/* Application-processor entry (SDM Vol. 3A 9.4.4 "MP initialization example", 10.8.5
 * "Initializing IA-32e mode"). smp.cpp copies the 16-bit trampoline to 0x8000 (the
 * SIPI vector 0x08 names that page) and fills ap_boot_{cr3,stack,cpu} per AP:
 *
 *   SIPI -> 0x8000 real mode (CS = 0x0800) -> lgdt ap_gdt, CR0.PE -> ap_entry32 (image,
 *   paging off) -> CR4.PAE, CR3 = the hypervisor's PML4, EFER.LME|NXE, CR0.PG|WP ->
 *   ap_entry64 -> stack -> x86_ap_main(cpu index)
 *
 * Only the trampoline runs from low memory: once paging is on, every fetch is from the
 * image's text, which the hypervisor's tables map RX. */
#include "asm_offsets.h"

#define CR0_PE (1 << 0)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define SEL_CODE32 0x18

    .section .rodata.ap_trampoline, "a"
    .code16
    .globl ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
    cli
    cld
    mov     %cs, %ax
    mov     %ax, %ds
    lgdtl   (ap_gdt_ptr - ap_trampoline_start)  /* DS:offset: inside the copied page */
    mov     %cr0, %eax
    or      $CR0_PE, %eax
    mov     %eax, %cr0
    ljmpl   $SEL_CODE32, $ap_entry32            /* absolute: the image is linked at 2 MiB */
    .balign 4
ap_gdt_ptr:
    .short  ap_gdt_end - ap_gdt - 1
    .long   ap_gdt
ap_trampoline_end:

    .section .rodata
    .balign 16
ap_gdt:                                 /* the final GDT's layout plus a 32-bit code segment */
    .quad   0
    .quad   0x00af9b000000ffff          /* 0x08: 64-bit code (accessed preset) */
    .quad   0x00cf93000000ffff          /* 0x10: data */
    .quad   0x00cf9b000000ffff          /* 0x18: 32-bit code, 4 GiB flat */
ap_gdt_end:

    .text
    .code32
ap_entry32:
    mov     $KEEL_X86_SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     ap_boot_cr3, %eax           /* the PML4 lies in the image: below 4 GiB */
    mov     %eax, %cr3
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $(EFER_LME | EFER_NXE), %eax /* NXE: the tables use XD (the BSP checked it) */
    wrmsr
    mov     %cr0, %eax
    or      $(CR0_PG | CR0_WP), %eax
    mov     %eax, %cr0
    ljmp    $KEEL_X86_SEL_CODE64, $ap_entry64

    .code64
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
    .globl ap_boot_cr3, ap_boot_stack, ap_boot_cpu
ap_boot_cr3:
    .quad   0
ap_boot_stack:
    .quad   0
ap_boot_cpu:
    .quad   0

    .section .note.GNU-stack, "", @progbits
