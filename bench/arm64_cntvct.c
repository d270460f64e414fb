// keel-cntvct: prints "KEEL-BENCH: <label> cntvct <N>" with the virtual counter read at
// EL0 (Linux sets CNTKCTL_EL1.EL0VCTEN for the vDSO). Static, no libc: built by
// bench/arm64_linux_boot.sh with clang --target=aarch64-linux-gnu and lld.
typedef unsigned long u64;

static long sys3(long nr, long a, long b, long c) {
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}

void _start(void) {
    u64 v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    char buf[64] = "KEEL-BENCH: init cntvct ";
    int n = 24;
    char d[24];
    int k = 0;
    do
        d[k++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (k)
        buf[n++] = d[--k];
    buf[n++] = '\n';
    sys3(64, 1, (long)buf, n); // write(1, ...)
    sys3(93, 0, 0, 0);         // exit(0)
    for (;;) {
    }
}
