#!/bin/sh
# x86 Linux boot to init under Keel (AMD SVM + NPT, QEMU TCG `-cpu max`) vs the same kernel
# entered the same way on bare QEMU, under -icount shift=0,align=off,sleep=off: the TSC
# counts virtual nanoseconds, one per instruction executed (idle time, when the only CPU
# halts, is skipped over to the next timer, so it counts as the time it would have taken).
# One CPU each: Keel in bench mode (`keel.bench`: the VM on the boot core, -smp 1) and bare
# QEMU -smp 1, both `-machine pc -m 1G`, the VM and the bare kernel with 256 MiB.
#
# Markers: the initramfs's /init first runs keel-tsc (bench/x86_tsc.c), which prints the
# TSC from ring 3; Keel prints the TSC just before vCPU 0's first VMRUN ("vcpu 0 first
# entry at tsc"), its VMs run with TSC offset 0; on bare QEMU, bench/x86_bare_entry.S
# prints it just before it jumps to the kernel.
#
# Like for like: the bare kernel gets what Keel gives the VM, written by the hypervisor's
# own code (tools/guest-x86-boot: the zero page with the E820 map, the command line, the
# ACPI tables RSDP/XSDT/FADT/DSDT/MADT; the protected-mode kernel at its load address, the
# initrd where Keel puts it) and the same entry state (64-bit mode, RSI = zero page); the
# bare entry masks the 8259s (the VM has none) and moves the PIIX4 PM timer to port 0x608,
# where the tables put it. What still differs: bare QEMU's CPU is `-cpu max` unfiltered
# (Keel's CPUID policy hides SVM and other features from its VMs) and real devices answer
# where a Keel VM's ports read as nothing (PCI configuration space, the RTC); under Keel,
# every access to the VM's COM1, APICs, PM timer and the refused MSRs is an exit. The
# command line names the TSC rate (tsc_early_khz=1000000: 1 GHz under -icount shift=0) for
# both, as Keel would otherwise add the rate it measured.
# Each configuration runs RUNS times (default 3); min and max are reported.
#   bench/x86_linux_boot.sh BUILD_DIR [GUEST_DIR]     (KEEL_BENCH_RUNS=N to change RUNS)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:-build}
guests=${2:-${KEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keel}/guests}
runs=${KEEL_BENCH_RUNS:-3}
img=$build/x86_64/keel-x86_64.bin
tool=$build/guest-x86-boot
kernel=$guests/bzImage-amd64
for f in "$img" "$tool" "$kernel" "$guests/initramfs-amd64.cpio.gz"; do
    [ -f "$f" ] || bench_fail "missing $f (build: cmake --build --preset default; guests: tools/fetch-guests.sh)"
done
work=$bench_tmp
clang --target=x86_64-linux-gnu -nostdlib -static -fuse-ld=lld -ffreestanding -fno-stack-protector -O2 \
    -o "$work/keel-tsc" "$here/x86_tsc.c"
clang --target=x86_64-none-elf -c "$here/x86_bare_entry.S" -o "$work/entry.o"
ld.lld -Ttext=0x20000000 --oformat=binary -o "$work/entry.bin" "$work/entry.o"
bench_marker_initramfs "$guests/initramfs-amd64.cpio.gz" "$work/keel-tsc" "$work/rd.gz"
rd_size=$(stat -c %s "$work/rd.gz")

args=${KEEL_BENCH_ARGS:-"console=ttyS0 quiet tsc_early_khz=1000000"}
mkdir "$work/bare"
"$tool" --bzimage "$kernel" --initrd "$work/rd.gz" --mem 256M --cpus 1 --args "$args" \
    --out-dir "$work/bare" >"$work/layout" || bench_fail "guest-x86-boot refused the kernel"
at() { sed -n "s/^$1 //p" "$work/layout"; }
k_at=$(at kernel) entry=$(at entry) rd_at=$(at initrd)
[ -n "$k_at" ] && [ -n "$entry" ] && [ -n "$rd_at" ] || bench_fail "guest-x86-boot: no layout"

ic="-icount shift=0,align=off,sleep=off"
q="qemu-system-x86_64 -accel tcg -machine pc -nodefaults -cpu max -smp 1 -m 1G -display none -no-reboot $ic"
init_tsc() { sed -n 's/.*KEEL-BENCH: init tsc \([0-9]*\).*/\1/p' "$1" | head -n 1; }
init_mono() { sed -n 's/.*KEEL-BENCH: init tsc [0-9]* monotonic \([0-9]*\).*/\1/p' "$1" | head -n 1; }
# bare_run LOG: the bare kernel cannot power the machine off (its sleep register is not
# the VM's), so QEMU is stopped once /init's line is in the log.
bare_run() {
    : >"$1"
    $q -serial "file:$1" -kernel "$work/entry.bin" \
        -device "loader,file=$work/bare/low.bin,addr=0x2c000000,force-raw=on" \
        -device "loader,addr=0x2bfff000,data=$entry,data-len=8" \
        -device "loader,file=$work/bare/kernel.bin,addr=$k_at,force-raw=on" \
        -device "loader,file=$work/rd.gz,addr=$rd_at,force-raw=on" 2>/dev/null &
    bench_child=$!
    waited=0
    while [ -z "$(init_tsc "$1")" ] && [ "$waited" -lt 300 ] && kill -0 "$bench_child" 2>/dev/null; do
        sleep 1
        waited=$((waited + 1))
    done
    kill "$bench_child" 2>/dev/null || true
    wait "$bench_child" 2>/dev/null || true
    bench_child=
}
bare='' keel_entry='' keel_reset='' bare_pre='' bare_kern='' keel_pre='' keel_kern=''
i=1
while [ "$i" -le "$runs" ]; do
    log=$work/bare-$i.log
    bare_run "$log"
    t=$(init_tsc "$log")
    bench_need "$t" "'KEEL-BENCH: init tsc' line (bare QEMU, run $i)" "$log"
    e=$(bench_num "KEEL-BENCH: entry tsc" "$log")
    bench_need "$e" "'KEEL-BENCH: entry tsc' line (bare QEMU, run $i)" "$log"
    m=$(init_mono "$log")
    bench_need "$m" "'monotonic' figure (bare QEMU, run $i)" "$log"
    bare="$bare $((t - e))"
    bare_pre="$bare_pre $((t - m - e))"
    bare_kern="$bare_kern $m"

    log=$work/keel-$i.log
    bench_run timeout 300 $q -serial "file:$log" -kernel "$img" \
        -append "keel.bench keel.vm=cpus:0,mem:256M,kernel:0x30000000,initrd:0x34000000+$rd_size,args:$(echo "$args" | tr ' ' '+')" \
        -device loader,file="$kernel",addr=0x30000000,force-raw=on \
        -device loader,file="$work/rd.gz",addr=0x34000000,force-raw=on 2>/dev/null || true
    t=$(init_tsc "$log")
    bench_need "$t" "'KEEL-BENCH: init tsc' line (Keel, run $i)" "$log"
    first=$(bench_num "vcpu 0 first entry at tsc" "$log")
    bench_need "$first" "'vcpu 0 first entry at tsc' line (Keel, run $i)" "$log"
    m=$(init_mono "$log")
    bench_need "$m" "'monotonic' figure (Keel, run $i)" "$log"
    keel_entry="$keel_entry $((t - first))"
    keel_pre="$keel_pre $((t - m - first))"
    keel_kern="$keel_kern $m"
    keel_reset="$keel_reset $t"
    i=$((i + 1))
done

echo "$runs runs each; virtual ns (TSC ticks; 1 per instruction, idle skipped)"
line "figure" "median min max"
line "bare QEMU, Keel's boot_params + ACPI: entry -> /init" "$(stats "$bare")"
line "Keel/SVM: guest entry -> /init" "$(stats "$keel_entry")"
line "Keel/SVM: reset -> /init" "$(stats "$keel_reset")"
line "ratio, entry -> /init, Keel / bare" "$(ratios "$keel_entry" "$bare")"
line "bare QEMU: entry -> kernel clock start" "$(stats "$bare_pre")"
line "Keel/SVM: entry -> kernel clock start" "$(stats "$keel_pre")"
line "ratio, entry -> kernel clock start, Keel / bare" "$(ratios "$keel_pre" "$bare_pre")"
line "bare QEMU: kernel clock start -> /init" "$(stats "$bare_kern")"
line "Keel/SVM: kernel clock start -> /init" "$(stats "$keel_kern")"
line "ratio, kernel clock start -> /init, Keel / bare" "$(ratios "$keel_kern" "$bare_kern")"
bench_result x86linux.runs "$runs"
bench_result x86linux.bare "$(stats "$bare")"
bench_result x86linux.keel_entry "$(stats "$keel_entry")"
bench_result x86linux.keel_reset "$(stats "$keel_reset")"
bench_result x86linux.ratio_entry "$(ratios "$keel_entry" "$bare")"
bench_result x86linux.bare_pre "$(stats "$bare_pre")"
bench_result x86linux.keel_pre "$(stats "$keel_pre")"
bench_result x86linux.ratio_pre "$(ratios "$keel_pre" "$bare_pre")"
bench_result x86linux.bare_kernel "$(stats "$bare_kern")"
bench_result x86linux.keel_kernel "$(stats "$keel_kern")"
bench_result x86linux.ratio_kernel "$(ratios "$keel_kern" "$bare_kern")"
