// keel-bare-entry: enters an x86 Linux kernel on bare QEMU (`-machine pc`) the way Keel
// enters a Linux VM, for bench/x86_linux_boot.sh. QEMU's Multiboot loader starts it in
// 32-bit protected mode after SeaBIOS (Multiboot 0.6.96 3.2); `-device loader` has put
//   0x2c000000  the first MiB of the VM's RAM as tools/guest-x86-boot lays it out (zero
//               page at 0x7000, command line, ACPI tables at 0xe0000)
//   0x2bfff000  the kernel's 64-bit entry (8 bytes)
// and the protected-mode kernel and the initrd at their final addresses (high RAM, which
// SeaBIOS leaves alone). It then
//   - makes C0000-FFFFF read/write RAM (i440FX PAM registers 0x59-0x5f, 00:00.0): SeaBIOS
//     leaves that range read-only, and the ACPI tables go at 0xe0000;
//   - masks both 8259 PICs (the VM has none);
//   - puts the PIIX4 power-management I/O block at 0x600 (00:01.3 PMBASE 0x40, PMIOSE in
//     0x80), so the ACPI PM timer is at 0x608 as the tables say (Keel's VMs have it there);
//   - copies the first MiB to 0, identity-maps 4 GiB with 2 MiB pages, loads a GDT with
//     Keel's selectors (0x10 64-bit code, 0x18 data) and enters long mode;
//   - reads the TSC, prints "KEEL-BENCH: entry tsc N" on COM1 and jumps to the entry with
//     RSI = the zero page and RSP 0x1f000, as Keel's vCPU 0 starts (arch/x86_64/virt/
//     linux_vm.cpp); under -icount shift=0 the TSC counts instructions since reset.
// Built by the script: clang --target=x86_64-none-elf -c, ld.lld -Ttext=0x20000000
// --oformat=binary (the Multiboot header's address fields say where it loads).
        .set MB_MAGIC, 0x1badb002
        .set MB_FLAGS, 0x00010000 // bit 16: the load addresses below are valid
        .set LOW_SRC, 0x2c000000
        .set ENTRY_PTR, 0x2bfff000
        .set ZERO_PAGE, 0x7000
        .set BOOT_STACK, 0x1f000
        .set COM1, 0x3f8

        .text
        .code32
        .globl _start
_start:
mb_header:
        .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
        .long mb_header, mb_header, 0, bss_end, start32

start32:
        cli
        cld
        mov $stack_top, %esp
        // PAM0 (0x59, bits 5:4 for F0000-FFFFF) and PAM1-6 (0x5a-0x5f): 11b = read/write RAM.
        mov $0x80000058, %eax
        mov $0xcf8, %dx
        out %eax, %dx
        mov $0xcfd, %dx
        mov $0x30, %al
        out %al, %dx
        mov $0x33, %al
        inc %dx
        out %al, %dx
        inc %dx
        out %al, %dx
        mov $0x8000005c, %eax
        mov $0xcf8, %dx
        out %eax, %dx
        mov $0x33, %al
        mov $0xcfc, %dx
        out %al, %dx
        inc %dx
        out %al, %dx
        inc %dx
        out %al, %dx
        inc %dx
        out %al, %dx
        // PIIX4 PMBASE = 0x600 (bit 0 reads as 1: I/O space), then PMIOSE.
        mov $0x80000b40, %eax
        mov $0xcf8, %dx
        out %eax, %dx
        mov $0x601, %eax
        mov $0xcfc, %dx
        out %eax, %dx
        mov $0x80000b80, %eax
        mov $0xcf8, %dx
        out %eax, %dx
        mov $0xcfc, %dx
        in %dx, %al
        or $1, %al
        out %al, %dx
        // Both 8259s masked: the tables describe none (Keel's VMs have none), and Linux
        // leaves a PIC it was not told about alone, so SeaBIOS's unmasked PIT line would
        // arrive through LINT0 at vector 8 once the kernel turns interrupts on.
        mov $0xff, %al
        out %al, $0x21
        out %al, $0xa1
        // The VM's first MiB to 0.
        mov $LOW_SRC, %esi
        xor %edi, %edi
        mov $0x100000, %ecx
        rep movsb
        // Page tables: 4 page directories of 2 MiB pages (P, RW, PS) for 0-4 GiB.
        mov $pd, %edi
        mov $0x83, %eax
        xor %edx, %edx
        mov $2048, %ecx
1:      mov %eax, (%edi)
        mov %edx, 4(%edi)
        add $0x200000, %eax
        adc $0, %edx
        add $8, %edi
        loop 1b
        mov $pdpt, %edi
        xor %eax, %eax
        mov $1024, %ecx
        rep stosl
        mov $pml4, %edi
        mov $1024, %ecx
        rep stosl
        mov $pd + 3, %eax
        mov %eax, pdpt
        add $0x1000, %eax
        mov %eax, pdpt + 8
        add $0x1000, %eax
        mov %eax, pdpt + 16
        add $0x1000, %eax
        mov %eax, pdpt + 24
        mov $pdpt + 3, %eax
        mov %eax, pml4
        // Long mode: CR4.PAE, CR3, EFER.LME, CR0.PG.
        mov %cr4, %eax
        or $0x20, %eax
        mov %eax, %cr4
        mov $pml4, %eax
        mov %eax, %cr3
        mov $0xc0000080, %ecx
        rdmsr
        or $0x100, %eax
        wrmsr
        lgdt gdt_desc
        mov %cr0, %eax
        or $0x80000001, %eax
        mov %eax, %cr0
        ljmp $0x10, $start64

        .code64
start64:
        mov $0x18, %eax
        mov %eax, %ds
        mov %eax, %es
        mov %eax, %ss
        mov %eax, %fs
        mov %eax, %gs
        lfence
        rdtsc
        shl $32, %rdx
        or %rax, %rdx
        mov %rdx, %r8
        lea msg(%rip), %rsi
2:      movzbl (%rsi), %eax
        test %eax, %eax
        jz 3f
        call putc
        inc %rsi
        jmp 2b
3:      // The TSC in decimal: digits pushed on the stack, then printed.
        mov %r8, %rax
        mov $10, %rcx
        xor %r9, %r9
4:      xor %edx, %edx
        div %rcx
        add $'0', %edx
        push %rdx
        inc %r9
        test %rax, %rax
        jnz 4b
5:      pop %rax
        call putc
        dec %r9
        jnz 5b
        mov $'\n', %eax
        call putc
        // Keel's vCPU 0 at entry: RSI the zero page, RSP its boot stack, the rest 0.
        mov ENTRY_PTR, %r15
        mov $BOOT_STACK, %rsp
        xor %eax, %eax
        xor %ebx, %ebx
        xor %ecx, %ecx
        xor %edx, %edx
        xor %edi, %edi
        xor %ebp, %ebp
        xor %r8d, %r8d
        xor %r9d, %r9d
        xor %r10d, %r10d
        xor %r11d, %r11d
        xor %r12d, %r12d
        xor %r13d, %r13d
        xor %r14d, %r14d
        mov $ZERO_PAGE, %esi
        jmp *%r15

// putc: AL to COM1 once its transmit holding register is empty (LSR bit 5).
putc:
        mov %eax, %r10d
        mov $COM1 + 5, %dx
6:      in %dx, %al
        test $0x20, %al
        jz 6b
        mov %r10d, %eax
        mov $COM1, %dx
        out %al, %dx
        ret

msg:    .asciz "KEEL-BENCH: entry tsc "

        .p2align 3
gdt:    .quad 0, 0
        .quad 0x00af9b000000ffff // 0x10: 64-bit code, as Keel's __BOOT_CS
        .quad 0x00cf93000000ffff // 0x18: flat data, as Keel's __BOOT_DS
gdt_desc:
        .word gdt_desc - gdt - 1
        .long gdt

        .bss
        .p2align 12
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4 * 4096
        .skip 4096
stack_top:
bss_end:
