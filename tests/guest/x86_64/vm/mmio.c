// MMIO emulation, one check per instruction form, against the scratch device at
// SCRATCH: every register reads back what was written.
#include "guest.h"

#define R8(o) (*(volatile uint8_t*)(SCRATCH + (o)))
#define R64(o) (*(volatile uint64_t*)(SCRATCH + (o)))

void check_mmio(void) {
    volatile uint8_t* p = (volatile uint8_t*)SCRATCH;
    uint64_t v;
    __asm__ volatile("movb $0x5a, (%0)" ::"r"(p) : "memory");         // C6
    __asm__ volatile("movb (%1), %b0" : "=q"(v) : "r"(p) : "memory"); // 8A
    check((v & 0xff) == 0x5a, "mmio: mov byte imm store / mov r8 load");
    __asm__ volatile("movb %b1, 1(%0)" ::"r"(p), "q"(0xc3) : "memory"); // 88
    __asm__ volatile("xor %%eax, %%eax; movb 1(%1), %%ah; mov %%rax, %0"
                     : "=r"(v)
                     : "r"(p)
                     : "rax", "memory");
    check(v == 0xc300, "mmio: mov r8 store / mov ah load (high byte)");
    __asm__ volatile("movw %w1, 2(%0)" ::"r"(p), "r"(0xbeef) : "memory");            // 66 89
    __asm__ volatile("mov $-1, %0; movw 2(%1), %w0" : "=&r"(v) : "r"(p) : "memory"); // 66 8B
    check(v == 0xffffffffffffbeefull, "mmio: mov r16 store / load keeps the upper bits");
    __asm__ volatile("movl %k1, 4(%0)" ::"r"(p), "r"(0x89abcdef) : "memory");        // 89
    __asm__ volatile("mov $-1, %0; movl 4(%1), %k0" : "=&r"(v) : "r"(p) : "memory"); // 8B
    check(v == 0x89abcdef, "mmio: mov r32 store / load zero-extends");
    __asm__ volatile("movq %1, 8(%0)" ::"r"(p), "r"(0x0123456789abcdefull) : "memory"); // REX.W 89
    __asm__ volatile("movq 8(%1), %0" : "=r"(v) : "r"(p) : "memory");                   // REX.W 8B
    check(v == 0x0123456789abcdefull, "mmio: mov r64 store / load");
    __asm__ volatile("movl $0xfeedface, 16(%0)" ::"r"(p) : "memory"); // C7
    check(*(volatile uint32_t*)(p + 16) == 0xfeedface, "mmio: mov dword imm store");
    __asm__ volatile("movq $-2, 24(%0)" ::"r"(p) : "memory"); // REX.W C7
    check(R64(24) == 0xfffffffffffffffeull, "mmio: mov qword imm32 (sign-extended) store");
    __asm__ volatile("movw $0x1234, 32(%0)" ::"r"(p) : "memory"); // 66 C7
    check(*(volatile uint16_t*)(p + 32) == 0x1234, "mmio: mov word imm store");
    R8(40) = 0x80;
    __asm__ volatile("movzbl 40(%1), %k0" : "=r"(v) : "r"(p) : "memory"); // 0F B6
    check(v == 0x80, "mmio: movzx r32, byte");
    __asm__ volatile("movsbq 40(%1), %0" : "=r"(v) : "r"(p) : "memory"); // REX.W 0F BE
    check(v == 0xffffffffffffff80ull, "mmio: movsx r64, byte");
    *(volatile uint16_t*)(p + 42) = 0x8001;
    __asm__ volatile("movzwq 42(%1), %0" : "=r"(v) : "r"(p) : "memory"); // REX.W 0F B7
    check(v == 0x8001, "mmio: movzx r64, word");
    __asm__ volatile("movswl 42(%1), %k0" : "=r"(v) : "r"(p) : "memory"); // 0F BF
    check(v == 0xffff8001ull, "mmio: movsx r32, word");
    *(volatile uint32_t*)(p + 44) = 0x80000000u;
    __asm__ volatile("movslq 44(%1), %0" : "=r"(v) : "r"(p) : "memory"); // 63
    check(v == 0xffffffff80000000ull, "mmio: movsxd r64, dword");
    void* d = (void*)(p + 64);
    __asm__ volatile("stosb" : "+D"(d) : "a"(0x11) : "memory");
    __asm__ volatile("stosw" : "+D"(d) : "a"(0x2222) : "memory");
    __asm__ volatile("stosl" : "+D"(d) : "a"(0x33333333) : "memory");
    __asm__ volatile("stosq" : "+D"(d) : "a"(0x4444444444444444ull) : "memory");
    check(R8(64) == 0x11 && *(volatile uint16_t*)(p + 65) == 0x2222 &&
              *(volatile uint32_t*)(p + 67) == 0x33333333 && R64(71) == 0x4444444444444444ull &&
              d == (void*)(p + 79),
          "mmio: stosb/stosw/stosd/stosq (RDI advanced)");
    uint64_t count = 4;
    d = (void*)(p + 128);
    __asm__ volatile("rep stosl" : "+D"(d), "+c"(count) : "a"(0x5555aaaa) : "memory");
    check(count == 0 && *(volatile uint32_t*)(p + 128) == 0x5555aaaa &&
              *(volatile uint32_t*)(p + 140) == 0x5555aaaa,
          "mmio: rep stosd x4 (RCX counted down)");
}
