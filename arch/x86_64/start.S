// x86_64 entry. One flat image boots two ways:
//   - QEMU -kernel: Multiboot1 with the a.out kludge (flag 16), since QEMU 7.2
//     refuses ELF64 multiboot kernels; the address fields say where to load.
//   - GRUB multiboot2: the address and entry tags (the image is not ELF).
// Both enter at _start in 32-bit protected mode, paging off, interrupts off, with
// EAX = loader magic and EBX = physical address of the loader's info. We build
// early identity page tables, enter long mode and call x86_boot_main(magic, info).

#include "asm_offsets.h"

// Multiboot 0.6.96 section 3.1.1: flags bit 1 = give memory info (incl. mmap),
// bit 16 = the header's address fields are valid (a.out kludge).
#define MB1_MAGIC 0x1badb002
#define MB1_FLAGS ((1 << 1) | (1 << 16))
// Multiboot2 1.0 section 3.1: magic, architecture 0 (i386 protected mode).
#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0
#define MB2_TAG_END 0
#define MB2_TAG_ADDRESS 2
#define MB2_TAG_ENTRY 3

// SDM Vol. 3A 2.5 (CR0/CR4), 2.2.1 (EFER), 4.5 (4-level paging).
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define PTE_P_RW 0x3
#define PDE_2M_P_RW 0x83           // present, writable, PS (2 MiB page)
#define EARLY_MAP_GIB 4            // identity map 0-4 GiB: loader info and BIOS areas

    .section .text.head, "ax"
    .code32
    .globl _head
_head:
    // --- Multiboot1 header (first 8 KiB, 4-byte aligned) ---
    .balign 4
mb1_header:
    .long   MB1_MAGIC
    .long   MB1_FLAGS
    .long   0x100000000 - (MB1_MAGIC + MB1_FLAGS)
    .long   mb1_header              // header_addr
    .long   __image_start           // load_addr: the file's first byte
    .long   0                       // load_end_addr: 0 = the whole file
    .long   __image_end             // bss_end_addr: the loader keeps its info out of .bss
    .long   _start                  // entry_addr

    // The image note (docs/handover.md §1.3) follows at 0x40 (linker.ld), then the rest.
    .section .text.boot, "ax"
    // --- Multiboot2 header (first 32 KiB, 8-byte aligned; tags 8-byte aligned) ---
    .balign 8
    .globl mb2_header
mb2_header:
    .long   MB2_MAGIC
    .long   MB2_ARCH_I386
    .long   mb2_header_end - mb2_header
    .long   0x100000000 - (MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    .balign 8
    .short  MB2_TAG_ADDRESS, 0
    .long   24
    .long   mb2_header              // header_addr
    .long   __image_start           // load_addr
    .long   0                       // load_end_addr: the whole file
    .long   __image_end             // bss_end_addr
    .balign 8
    .short  MB2_TAG_ENTRY, 0
    .long   12
    .long   _start
    .balign 8
    .short  MB2_TAG_END, 0
    .long   8
mb2_header_end:

    .globl _start
_start:
    cli
    cld
    mov     %eax, %ebp              // loader magic
    mov     %ebx, %esi              // loader info (physical)
    mov     $boot_stack_top, %esp

    // Long mode is required (CPUID 0x80000001:EDX[29], SDM Vol. 2A CPUID).
    mov     $0x80000000, %eax
    cpuid
    cmp     $0x80000001, %eax
    jb      no_long_mode
    mov     $0x80000001, %eax
    cpuid
    bt      $29, %edx
    jnc     no_long_mode
    mov     %edx, %ebx              // keep EDX[20] (NX) for EFER below

    // Zero .bss: the early page tables and the stack live there. Multiboot loaders
    // place their info outside [load_addr, bss_end_addr), so it survives.
    mov     $__bss_start, %edi
    mov     $__bss_end, %ecx
    sub     %edi, %ecx
    shr     $2, %ecx
    xor     %eax, %eax
    rep stosl

    // Early tables: PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs of 2 MiB pages (0-4 GiB).
    mov     $early_pdpt + PTE_P_RW, %eax
    mov     %eax, early_pml4
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $12, %eax
    add     $early_pd + PTE_P_RW, %eax
    mov     %eax, early_pdpt(, %ecx, 8)
    inc     %ecx
    cmp     $EARLY_MAP_GIB, %ecx
    jb      1b
    xor     %ecx, %ecx
2:  mov     %ecx, %eax
    shl     $21, %eax               // low 32 bits of the 2 MiB page address
    or      $PDE_2M_P_RW, %eax
    mov     %eax, early_pd(, %ecx, 8)
    mov     %ecx, %eax
    shr     $11, %eax               // bits 32+ of the page address (i >> 11)
    mov     %eax, early_pd + 4(, %ecx, 8)
    inc     %ecx
    cmp     $EARLY_MAP_GIB * 512, %ecx
    jb      2b

    // PAE, then EFER.LME (+NXE when the CPU has NX), then paging (SDM Vol. 3A 10.8.5).
    mov     $early_pml4, %eax
    mov     %eax, %cr3
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_LME, %eax
    bt      $20, %ebx
    jnc     3f
    or      $EFER_NXE, %eax
3:  wrmsr
    mov     %cr0, %eax
    or      $(CR0_PG | CR0_WP), %eax
    mov     %eax, %cr0
    lgdt    early_gdt_ptr
    ljmp    $KEEL_X86_SEL_CODE64, $long_mode_entry

no_long_mode:
    // Nothing to run on: say so on COM1 (no init needed to be seen in QEMU/Bochs).
    mov     $no_lm_msg, %esi
4:  lodsb
    test    %al, %al
    jz      5f
    mov     $0x3f8, %dx
    outb    %al, %dx
    jmp     4b
5:  hlt
    jmp     5b

    .code64
long_mode_entry:
    mov     $KEEL_X86_SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    xor     %eax, %eax
    mov     %eax, %fs
    mov     %eax, %gs
    mov     $boot_stack_top, %rsp   // upper halves of registers are undefined here
    mov     %ebp, %edi              // x86_boot_main(u32 magic, u32 info)
    mov     %esi, %esi
    xor     %ebp, %ebp              // end of frame-pointer chain
    call    x86_boot_main
6:  cli
    hlt
    jmp     6b

    .section .rodata
    .balign 8
early_gdt:
    .quad   0                       // null
    .quad   0x00af9b000000ffff      // 0x08: 64-bit code, DPL 0 (L=1, D=0), accessed
    .quad   0x00cf93000000ffff      // 0x10: data, DPL 0, accessed
early_gdt_end:
early_gdt_ptr:
    .short  early_gdt_end - early_gdt - 1
    .long   early_gdt
no_lm_msg:
    .asciz  "KEEL PANIC: this CPU has no long mode (x86_64)\r\n"

    .section .bss.early_tables, "aw", @nobits
    .balign 4096
early_pml4:
    .space  4096
early_pdpt:
    .space  4096
early_pd:
    .space  4096 * EARLY_MAP_GIB

    // The boot stack sits above an unmapped guard page (paging.cpp leaves
    // boot_stack_guard out of the final tables): an overflow faults into #DF.
    .section .bss.stack, "aw", @nobits
    .balign 4096
    .globl boot_stack_guard, boot_stack_top, df_stack_top
boot_stack_guard:
    .space  4096
boot_stack:
    .space  KEEL_X86_STACK_SIZE
boot_stack_top:
    .balign 16
df_stack:
    .space  KEEL_X86_IST_SIZE
df_stack_top:
