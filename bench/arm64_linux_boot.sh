#!/bin/sh
# Linux boot to init under Keel vs the same kernel on bare QEMU, deterministic up to a
# small spread (-icount shift=0,align=off,sleep=off: 1 ns = 1 instruction, one CNTVCT
# tick = 16). One CPU each: Keel in bench mode (`keel.bench`, the VM on the boot core,
# -smp 1) and bare QEMU -smp 1 without EL2. The marker: the initramfs's /init first runs
# keel-cntvct (bench/arm64_cntvct.c), which prints the virtual counter from EL0; with
# CNTVOFF = 0 (Keel) / no EL2 (bare) that counts instructions since reset.
#
# Like for like: bare QEMU boots with the device tree Keel gives the VM (build/guest-dtb,
# the hypervisor's own build_guest_dtb: same RAM, CPU, GIC, timer, PL011, bootargs, and
# the initramfs at Keel's offset from the kernel, loaded there with -device loader). QEMU's
# own DTB (32 virtio-mmio slots, PCIe, fw-cfg, RTC, GPIO) is measured too, for reference.
# Each configuration runs RUNS times (default 3): the counts vary by some 10-30 k of
# ~900 M between runs, so min and max are reported.
#   bench/arm64_linux_boot.sh BUILD_DIR [GUEST_DIR]     (KEEL_BENCH_RUNS=N to change RUNS)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=${1:-build}
guests=${2:-${KEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keel}/guests}
runs=${KEEL_BENCH_RUNS:-3}
img=$build/arm64/keel-arm64.bin
dtbtool=$build/guest-dtb
kernel=$guests/Image-arm64
for f in "$img" "$dtbtool" "$kernel" "$guests/initramfs-arm64.cpio.gz"; do
    [ -f "$f" ] || bench_fail "missing $f (build: cmake --build --preset default; guests: tools/fetch-guests.sh)"
done
work=$bench_tmp
clang --target=aarch64-linux-gnu -nostdlib -static -fuse-ld=lld -ffreestanding -fno-stack-protector -O2 \
    -o "$work/keel-cntvct" "$here/arm64_cntvct.c"
bench_marker_initramfs "$guests/initramfs-arm64.cpio.gz" "$work/keel-cntvct" "$work/rd.gz"
rd_size=$(stat -c %s "$work/rd.gz")

# Keel puts the initramfs right past the Image's image_size (header offset 16, little
# endian) rounded up to 2 MiB (hypervisor/vm/boot_vms.cpp initrd_offset). QEMU loads the
# Image 2 MiB into RAM (its boot stub sits at the bottom; hw/arm/boot.c), Keel at the RAM
# base: bare QEMU gets the initramfs at the same offset from the kernel, so 2 MiB higher.
image_size=$(od -An -t u8 -j 16 -N 8 "$kernel" | tr -d ' ')
[ -n "$image_size" ] && [ "$image_size" -gt 0 ] || bench_fail "$kernel: no arm64 Image header"
ram=$((0x40000000))
initrd=$((ram + 0x200000 + (image_size + 0x1fffff) / 0x200000 * 0x200000))
"$dtbtool" --ram-base "$ram" --mem 256M --cpus 1 --initrd "$initrd+$rd_size" --args quiet \
    --out "$work/keel.dtb"

ic="-icount shift=0,align=off,sleep=off"
q="qemu-system-aarch64 -cpu max,pauth=off -smp 1 -display none -monitor none -nic none -no-reboot $ic"
init_tick() { sed -n 's/.*KEEL-BENCH: init cntvct \([0-9]*\).*/\1/p' "$1" | head -n 1; }
bare_keeldtb='' bare_qemudtb='' keel_reset='' keel_entry=''
i=1
while [ "$i" -le "$runs" ]; do
    log=$work/bare-keeldtb-$i.log
    bench_run timeout 120 $q -M virt,gic-version=3 -m 256M -serial "file:$log" -kernel "$kernel" \
        -dtb "$work/keel.dtb" -device "loader,file=$work/rd.gz,addr=$initrd,force-raw=on" \
        2>/dev/null || true
    t=$(init_tick "$log")
    bench_need "$t" "'KEEL-BENCH: init cntvct' line (bare QEMU, Keel's DTB, run $i)" "$log"
    bare_keeldtb="$bare_keeldtb $((t * 16))"

    log=$work/bare-qemudtb-$i.log
    bench_run timeout 120 $q -M virt,gic-version=3 -m 256M -serial "file:$log" -kernel "$kernel" \
        -initrd "$work/rd.gz" -append quiet 2>/dev/null || true
    t=$(init_tick "$log")
    bench_need "$t" "'KEEL-BENCH: init cntvct' line (bare QEMU, QEMU's DTB, run $i)" "$log"
    bare_qemudtb="$bare_qemudtb $((t * 16))"

    log=$work/keel-$i.log
    bench_run timeout 120 $q -M virt,virtualization=on,gic-version=3 -m 1G -serial "file:$log" \
        -kernel "$img" \
        -append "keel.bench keel.vm=cpus:0,mem:256M,kernel:0x60000000,initrd:0x64000000+$rd_size,args:quiet" \
        -device loader,file="$kernel",addr=0x60000000,force-raw=on \
        -device loader,file="$work/rd.gz",addr=0x64000000,force-raw=on 2>/dev/null || true
    t=$(init_tick "$log")
    bench_need "$t" "'KEEL-BENCH: init cntvct' line (Keel, run $i)" "$log"
    first=$(sed -n 's/.*vcpu 0 first entry at cntpct \([0-9]*\).*/\1/p' "$log" | head -n 1)
    bench_need "$first" "'vcpu 0 first entry at cntpct' line (Keel, run $i)" "$log"
    keel_reset="$keel_reset $((t * 16))"
    keel_entry="$keel_entry $(((t - first) * 16))"
    i=$((i + 1))
done

echo "$runs runs each; instructions (CNTVCT ticks x 16)"
line "figure" "median min max"
line "bare QEMU, Keel's DTB: reset -> /init" "$(stats "$bare_keeldtb")"
line "bare QEMU, QEMU's own DTB: reset -> /init" "$(stats "$bare_qemudtb")"
line "Keel: guest entry -> /init" "$(stats "$keel_entry")"
line "Keel: reset -> /init" "$(stats "$keel_reset")"
line "ratio, guest entry -> /init, Keel / bare (Keel's DTB)" "$(ratios "$keel_entry" "$bare_keeldtb")"
line "ratio, same, Keel / bare (QEMU's own DTB)" "$(ratios "$keel_entry" "$bare_qemudtb")"
line "ratio, reset -> /init, Keel / bare (Keel's DTB)" "$(ratios "$keel_reset" "$bare_keeldtb")"
bench_result linux.runs "$runs"
bench_result linux.bare_keeldtb "$(stats "$bare_keeldtb")"
bench_result linux.bare_qemudtb "$(stats "$bare_qemudtb")"
bench_result linux.keel_entry "$(stats "$keel_entry")"
bench_result linux.keel_reset "$(stats "$keel_reset")"
bench_result linux.ratio_entry_keeldtb "$(ratios "$keel_entry" "$bare_keeldtb")"
bench_result linux.ratio_entry_qemudtb "$(ratios "$keel_entry" "$bare_qemudtb")"
bench_result linux.ratio_reset_keeldtb "$(ratios "$keel_reset" "$bare_keeldtb")"
