#!/bin/sh
# arm64 hypervisor figures, deterministic: QEMU -icount ties virtual time to executed
# instructions (1 ns = 1 instruction; one CNTVCT tick = 16 instructions on virt,
# ../shared/PLATFORMS.md "Deterministic measurement"). One CPU (-smp 1) with Keel in
# bench mode (`keel.bench`: the VM runs on the boot core), so no idle core's polling is
# in any count. The test guest (guest:bench) reads CNTVCT at its first instruction and
# times 10,000 rounds of a 4-instruction loop with HVC KEEL_NULL_CALL, then the same
# loop with a NOP in its place: the difference is the EL2 path alone.
#   bench/arm64_hvc.sh build/arm64/keel-arm64-test.bin
set -eu
img=${1:-build/arm64/keel-arm64-test.bin}
log=$(mktemp)
log2=$(mktemp)
trap 'rm -f "$log" "$log2"' EXIT
run() { # $1 log, $2 VM memory
  timeout 120 qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max,pauth=off \
    -smp 1 -m 1G -display none -monitor none -nic none -no-reboot -serial "file:$1" \
    -icount shift=0,align=off,sleep=off -kernel "$img" -append "keel.bench keel.vm=cpus:0,mem:$2,guest:bench" \
    2>/dev/null || true
}
run "$log" 4M
run "$log2" 512M
num() { sed -n "s/.*$1 \([0-9]*\).*/\1/p" "$2" | head -1; }
hvc=$(num "null hypercalls," "$log"); rounds=10000
nop=$(num "same loop with nop" "$log")
first=$(num "first instruction at tick" "$log")
bss=$(num "boot_main" "$log"); plat=$(num "platform discovered" "$log"); crypto=$(num "crypto self-check done" "$log")
mem=$(sed -n 's/.*hypervisor memory: \(.*\)/\1/p' "$log2" | head -1)
[ -n "$hvc" ] && [ -n "$nop" ] && [ -n "$first" ] && [ -n "$crypto" ] || { echo "bench: no result line"; exit 1; }
printf '%-58s %14s\n' "figure (instructions; ticks x 16)" "instructions"
printf '%-58s %14s\n' "HVC null call round trip, whole loop iteration" "$((hvc * 16 / rounds))"
printf '%-58s %14s\n' "  of which EL2 (exit, dispatch, handler, entry)" "$(((hvc - nop) * 16 / rounds))"
printf '%-58s %14s\n' "boot: reset -> first guest instruction (4 MiB VM)" "$((first * 16))"
printf '%-58s %14s\n' "  reset -> arm64_boot_main (.bss zeroed)" "$((bss * 16))"
printf '%-58s %14s\n' "  of which platform discovered -> crypto self-check done" "$(((crypto - plat) * 16))"
printf '%-58s %14s\n' "  boot without the crypto self-check" "$(((first - crypto + plat) * 16))"
echo "per-VM hypervisor memory, 512 MiB VM: $mem"
