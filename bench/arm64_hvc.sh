#!/bin/sh
# Null-hypercall round trip on arm64, deterministic: QEMU -icount ties virtual time to
# executed instructions (1 ns = 1 instruction; one CNTVCT tick = 16 instructions on
# virt, ../shared/PLATFORMS.md "Deterministic measurement"). The test guest in
# guest:bench mode times 10,000 HVC KEEL_NULL_CALLs with CNTVCT_EL0.
#   bench/arm64_hvc.sh build/arm64/keel-arm64.bin
set -eu
img=${1:-build/arm64/keel-arm64.bin}
log=$(mktemp)
timeout 60 qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max,pauth=off \
  -smp 2 -m 1G -display none -monitor none -nic none -no-reboot -serial "file:$log" \
  -icount shift=0,align=off,sleep=off -kernel "$img" -append "keel.vm=cpus:1,mem:64M,guest:bench" || true
line=$(grep "guest: bench:" "$log" | head -1)
rounds=$(echo "$line" | sed -n 's/.*bench: \([0-9]*\) null.*/\1/p')
ticks=$(echo "$line" | sed -n 's/.* \([0-9]*\) ticks.*/\1/p')
rm -f "$log"
[ -n "$ticks" ] || { echo "bench: no result line"; exit 1; }
printf '%-28s %10s %10s %16s\n' "benchmark" "rounds" "ticks" "instr/round trip"
printf '%-28s %10s %10s %16s\n' "arm64 HVC null call" "$rounds" "$ticks" "$(( ticks * 16 / rounds ))"
