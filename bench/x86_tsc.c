// keel-tsc: prints "KEEL-BENCH: init tsc <N> monotonic <M>": the time-stamp counter read
// at ring 3 (Linux leaves CR4.TSD clear) and the kernel's CLOCK_MONOTONIC in ns, which
// starts near the kernel's own clock start (both run at the TSC's 1 GHz under the bench's
// tsc_early_khz), so TSC - monotonic says when the kernel's clock began. Static, no libc: built by
// bench/x86_linux_boot.sh with clang --target=x86_64-linux-gnu and lld. Under QEMU -icount shift=0
// the TSC counts instructions since reset; Keel's VMs run with a TSC offset of 0.
typedef unsigned long u64;

static long sys3(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

static int put_u64(char* out, u64 v) {
    char d[24];
    int k = 0, n = 0;
    do
        d[k++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (k)
        out[n++] = d[--k];
    return n;
}

// The kernel enters _start with RSP 16-byte aligned, not 8 past as after a call.
__attribute__((force_align_arg_pointer)) void _start(void) {
    unsigned lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
    const u64 tsc = (u64)hi << 32 | lo;
    struct {
        long sec, nsec;
    } ts = {0, 0};
    sys3(228, 1, (long)&ts, 0); // clock_gettime(CLOCK_MONOTONIC, &ts)
    char buf[96] = "KEEL-BENCH: init tsc ";
    int n = 21;
    n += put_u64(buf + n, tsc);
    const char mono[] = " monotonic ";
    for (int i = 0; mono[i]; ++i)
        buf[n++] = mono[i];
    n += put_u64(buf + n, (u64)ts.sec * 1000000000ul + (u64)ts.nsec);
    buf[n++] = '\n';
    sys3(1, 1, (long)buf, n); // write(1, ...)
    sys3(60, 0, 0, 0);        // exit(0)
    for (;;) {
    }
}
