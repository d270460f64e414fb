// x86_64 entry. One flat image boots two ways:
//   - QEMU -kernel: Multiboot1 with the a.out kludge (flag 16), since QEMU 7.2
//     refuses ELF64 multiboot kernels; the address fields say where to load.
//   - GRUB multiboot2: the address and entry tags (the image is not ELF).
// Both enter at _start in 32-bit protected mode, paging off, interrupts off, with
// EAX = loader magic and EBX = physical address of the loader's info. We build
// early identity page tables, enter long mode and call x86_boot_main(magic, info).

#include "asm_offsets.h"
#include "early_stop.h"

// The 32-bit code and the headers run or are read only where the image is linked (a
// Multiboot loader loads it at the headers' address): their addresses are the link-time
// constants linker.ld defines (keel_abs_*), which a PIE link accepts in 32-bit fields.
#define ABS(sym) keel_abs_##sym

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
    .globl mb1_header
mb1_header:
    .long   MB1_MAGIC
    .long   MB1_FLAGS
    .long   0x100000000 - (MB1_MAGIC + MB1_FLAGS)
    .long   ABS(mb1_header)         // header_addr
    .long   ABS(image_start)        // load_addr: the file's first byte
    .long   0                       // load_end_addr: 0 = the whole file
    .long   ABS(image_end)          // bss_end_addr: the loader keeps its info out of .bss
    .long   ABS(start)              // entry_addr

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
    .long   ABS(mb2_header)         // header_addr
    .long   ABS(image_start)        // load_addr
    .long   0                       // load_end_addr: the whole file
    .long   ABS(image_end)          // bss_end_addr
    .balign 8
    .short  MB2_TAG_ENTRY, 0
    .long   12
    .long   ABS(start)
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

    // Where the loader put us: where the headers ask, which is where the image is linked
    // unless they were changed (a test loads a patched copy elsewhere: the image is a
    // static PIE, docs/handover.md §1.4). One call finds out; with no stack yet, the
    // loader's info (writable RAM the spec hands us) lends its first word for the
    // return address, given back at once. EDI = the load offset from here to the far jump.
    mov     (%esi), %edx
    lea     4(%esi), %esp
    call    1f
    .globl keel_start_pc
keel_start_pc:
1:  pop     %edi
    mov     %edx, (%esi)
    sub     $ABS(start_pc), %edi

    // Zero .bss: the early page tables and the stack live there. Multiboot loaders
    // place their info outside [load_addr, bss_end_addr), so it survives.
    lea     ABS(bss_start)(%edi), %edx
    mov     $ABS(bss_end), %ecx
    sub     $ABS(bss_start), %ecx
    shr     $2, %ecx
    xor     %eax, %eax
    xchg    %edx, %edi
    rep stosl
    mov     %edx, %edi
    lea     ABS(boot_stack_top)(%edi), %esp

    // The pristine copy (docs/handover.md §2.2 OldImage restore_*, §4.7): the loaded bytes
    // from .dynamic to .bss (.data, .got) into .pristine before anything writes them, so an
    // image that replaced this one can put them back and roll back to it. .text and .rodata
    // change only by relocation, which every entry redoes from the addends.
    mov     %esi, %ebx
    mov     %edi, %edx
    lea     ABS(rodata_end)(%edx), %esi
    lea     ABS(pristine_copy)(%edx), %edi
    mov     $ABS(bss_start), %ecx
    sub     $ABS(rodata_end), %ecx
    shr     $2, %ecx
    rep movsl
    mov     %edx, %edi
    mov     %ebx, %esi

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

    // Early tables: PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs of 2 MiB pages (0-4 GiB).
    lea     ABS(early_pdpt) + PTE_P_RW(%edi), %eax
    mov     %eax, ABS(early_pml4)(%edi)
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $12, %eax
    lea     ABS(early_pd) + PTE_P_RW(%edi, %eax), %eax
    mov     %eax, ABS(early_pdpt)(%edi, %ecx, 8)
    inc     %ecx
    cmp     $EARLY_MAP_GIB, %ecx
    jb      1b
    xor     %ecx, %ecx
2:  mov     %ecx, %eax
    shl     $21, %eax               // low 32 bits of the 2 MiB page address
    or      $PDE_2M_P_RW, %eax
    mov     %eax, ABS(early_pd)(%edi, %ecx, 8)
    mov     %ecx, %eax
    shr     $11, %eax               // bits 32+ of the page address (i >> 11)
    mov     %eax, ABS(early_pd) + 4(%edi, %ecx, 8)
    inc     %ecx
    cmp     $EARLY_MAP_GIB * 512, %ecx
    jb      2b

    // PAE, then EFER.LME (+NXE when the CPU has NX), then paging (SDM Vol. 3A 10.8.5).
    lea     ABS(early_pml4)(%edi), %eax
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
    // The GDT pointer names the GDT where it runs (the image's data is ours to write
    // until paging.cpp protects it); then a far return into the 64-bit code segment.
    lea     ABS(early_gdt)(%edi), %eax
    mov     %eax, ABS(early_gdt_ptr) + 2(%edi)
    lgdt    ABS(early_gdt_ptr)(%edi)
    lea     ABS(long_mode_entry)(%edi), %eax
    push    $KEEL_X86_SEL_CODE64
    push    %eax
    lret

no_long_mode:
    // Nothing to run on: say so on COM1 (no init needed to be seen in QEMU/Bochs).
    lea     ABS(no_lm_msg)(%edi), %esi
    keel_early_stop

    .code64
    .globl long_mode_entry
long_mode_entry:
    mov     $KEEL_X86_SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    xor     %eax, %eax
    mov     %eax, %fs
    mov     %eax, %gs
    lea     boot_stack_top(%rip), %rsp // upper halves of registers are undefined here
    push    %rsi                    // the loader's info (the relocation uses RSI)
    call    keel_self_relocate      // loaded where linked: nothing to do (relocate.S)
    pop     %rsi
    mov     %ebp, %edi              // x86_boot_main(u32 magic, u32 info)
    mov     %esi, %esi
    xor     %ebp, %ebp              // end of frame-pointer chain
    call    x86_boot_main
6:  cli
    hlt
    jmp     6b

    .section .rodata
    .balign 8
    .globl early_gdt, early_gdt_ptr, no_lm_msg
early_gdt:
    .quad   0                       // null
    .quad   0x00af9b000000ffff      // 0x08: 64-bit code, DPL 0 (L=1, D=0), accessed
    .quad   0x00cf93000000ffff      // 0x10: data, DPL 0, accessed
early_gdt_end:
early_gdt_ptr:
    .short  early_gdt_end - early_gdt - 1
    .long   ABS(early_gdt)
no_lm_msg:
    .asciz  "KEEL PANIC: this CPU has no long mode (x86_64)\r\n"

    .section .bss.early_tables, "aw", @nobits
    .balign 4096
    .globl early_pml4, early_pdpt, early_pd
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
