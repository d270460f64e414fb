#!/bin/sh
# Linux boot to init under Keel vs the same kernel on bare QEMU, deterministic
# (-icount shift=0,align=off,sleep=off: 1 ns = 1 instruction, one CNTVCT tick = 16).
# One CPU each: Keel in bench mode (`keel.bench`, the VM on the boot core, -smp 1) and
# bare QEMU -smp 1 without EL2. The marker: the initramfs's /init first runs
# keel-cntvct (bench/arm64_cntvct.c), which prints the virtual counter from EL0; with
# CNTVOFF = 0 (Keel) / no EL2 (bare) that counts instructions since reset.
#   bench/arm64_linux_boot.sh BUILD_DIR [GUEST_DIR]
set -eu
build=${1:-build}
guests=${2:-${KEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keel}/guests}
here=$(cd "$(dirname "$0")" && pwd)
img=$build/arm64/keel-arm64.bin
kernel=$guests/Image-arm64
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clang --target=aarch64-linux-gnu -nostdlib -static -fuse-ld=lld -ffreestanding -fno-stack-protector -O2 \
  -o "$work/keel-cntvct" "$here/arm64_cntvct.c"
mkdir "$work/rd"
(cd "$work/rd" && gzip -dc "$guests/initramfs-arm64.cpio.gz" | cpio -id --quiet)
cp "$work/keel-cntvct" "$work/rd/bin/keel-cntvct"
printf '#!/bin/sh\n/bin/keel-cntvct\n/bin/busybox poweroff -f\n' >"$work/rd/init"
chmod 755 "$work/rd/init"
(cd "$work/rd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) >"$work/rd.gz"
rd_size=$(stat -c %s "$work/rd.gz")
ic="-icount shift=0,align=off,sleep=off"
q="qemu-system-aarch64 -cpu max,pauth=off -smp 1 -display none -monitor none -nic none -no-reboot $ic"
timeout 300 $q -M virt,gic-version=3 -m 256M -serial "file:$work/bare.log" \
  -kernel "$kernel" -initrd "$work/rd.gz" -append "quiet" || true
timeout 300 $q -M virt,virtualization=on,gic-version=3 -m 1G -serial "file:$work/keel.log" -kernel "$img" \
  -append "keel.bench keel.vm=cpus:0,mem:256M,kernel:0x60000000,initrd:0x64000000+$rd_size,args:quiet" \
  -device loader,file="$kernel",addr=0x60000000,force-raw=on \
  -device loader,file="$work/rd.gz",addr=0x64000000,force-raw=on || true
bare=$(sed -n 's/.*KEEL-BENCH: init cntvct \([0-9]*\).*/\1/p' "$work/bare.log" | head -1)
keel=$(sed -n 's/.*KEEL-BENCH: init cntvct \([0-9]*\).*/\1/p' "$work/keel.log" | head -1)
first=$(sed -n 's/.*vcpu 0 first entry at cntpct \([0-9]*\).*/\1/p' "$work/keel.log" | head -1)
[ -n "$bare" ] && [ -n "$keel" ] && [ -n "$first" ] || { echo "bench: no marker"; tail -5 "$work/bare.log" "$work/keel.log"; exit 1; }
printf '%-44s %16s\n' "figure (instructions = ticks x 16)" "instructions"
printf '%-44s %16s\n' "bare QEMU: reset -> /init" "$((bare * 16))"
printf '%-44s %16s\n' "Keel: reset -> /init" "$((keel * 16))"
printf '%-44s %16s\n' "Keel: guest entry -> /init" "$(((keel - first) * 16))"
printf '%-44s %16s\n' "ratio, guest entry -> /init (Keel / bare)" "$(echo "scale=4; ($keel - $first) / $bare" | bc)"
printf '%-44s %16s\n' "ratio, reset -> /init (Keel / bare)" "$(echo "scale=4; $keel / $bare" | bc)"
