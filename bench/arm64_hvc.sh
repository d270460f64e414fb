#!/bin/sh
# arm64 hypervisor figures, deterministic: QEMU -icount ties virtual time to executed
# instructions (1 ns = 1 instruction; one CNTVCT tick = 16 instructions on virt,
# ../shared/PLATFORMS.md "Deterministic measurement"). One CPU (-smp 1) with Keel in
# bench mode (`keel.bench`: the VM runs on the boot core), so no idle core's polling is
# in any count. The test guest (guest:bench) reads CNTVCT at its first instruction and
# times 10,000 rounds of a 4-instruction loop with HVC, then the same loop with a NOP in
# its place (the difference is the EL2 path alone), once for PSCI_VERSION (0x84000000, the
# call Bao's and Xen's figures were taken with) and once for Keel's null call (0xc6000000).
#   bench/arm64_hvc.sh [build/arm64/keel-arm64-test.bin]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
img=${1:-build/arm64/keel-arm64-test.bin}
[ -f "$img" ] || bench_fail "no image $img (build it: cmake --build --preset default)"
rounds=10000
run() { # $1 log, $2 VM memory
    bench_run timeout 120 qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 \
        -cpu max,pauth=off -smp 1 -m 1G -display none -monitor none -nic none -no-reboot \
        -serial "file:$1" -icount shift=0,align=off,sleep=off -kernel "$img" \
        -append "keel.bench keel.vm=cpus:0,mem:$2,guest:bench" 2>/dev/null || true
    [ -f "$1" ] && sed -i 's/\r$//' "$1" # the UART log has CRLF line ends
}
log=$bench_tmp/hvc-4M.log
log2=$bench_tmp/hvc-512M.log
run "$log" 4M
run "$log2" 512M
# guest: bench: 10000 null hypercalls, H ticks; same loop with nop N ticks; first instruction at tick F
# guest: bench: 10000 psci_version hypercalls, H ticks; same loop with nop N ticks
pair() { sed -n "s/.*guest: bench: $rounds $1 hypercalls, \([0-9]*\) ticks; same loop with nop \([0-9]*\) ticks.*/\1 \2/p" "$log" | head -n 1; }
null=$(pair null)
psci=$(pair psci_version)
bench_need "$null" "'guest: bench: $rounds null hypercalls' line" "$log"
bench_need "$psci" "'guest: bench: $rounds psci_version hypercalls' line (a test guest older than this script?)" "$log"
first=$(bench_num "first instruction at tick" "$log")
bench_need "$first" "'first instruction at tick' figure" "$log"
mark() { # $1 the label in "keel: bench: boot marks (cntpct): boot_main A, mmu on B, ..."
    v=$(bench_num "$1" "$log")
    bench_need "$v" "'keel: bench: boot marks' figure '$1'" "$log"
    echo "$v"
}
mark_boot_main=$(mark boot_main)
mark_mmu_on=$(mark "mmu on")
mark_platform=$(mark "platform discovered")
mark_features=$(mark "feature report")
mem=$(sed -n 's/.*hypervisor memory: .* = \([0-9]*\) B$/\1/p' "$log2" | head -n 1)
mem_text=$(sed -n 's/.*hypervisor memory: \(.*\)/\1/p' "$log2" | head -n 1)
bench_need "$mem" "'vm 1: hypervisor memory: ... = N B' line (512 MiB VM)" "$log2"

set -- $null; null_loop=$1 null_nop=$2
set -- $psci; psci_loop=$1 psci_nop=$2
per() { echo "scale=1; $1 * 16 / $rounds" | bc; } # ticks over all rounds -> instructions per round
boot=$((first * 16))
printing=$(((mark_features - mark_platform) * 16))
printf '%-62s %14s\n' "figure (instructions; CNTVCT ticks x 16)" "instructions"
printf '%-62s %14s\n' "PSCI_VERSION (HVC 0x84000000) round trip, whole loop iteration" "$(per "$psci_loop")"
printf '%-62s %14s\n' "  of which EL2 (exit, dispatch, handler, entry)" "$(per "$((psci_loop - psci_nop))")"
printf '%-62s %14s\n' "Keel null call (HVC 0xc6000000), whole loop iteration" "$(per "$null_loop")"
printf '%-62s %14s\n' "  of which EL2" "$(per "$((null_loop - null_nop))")"
printf '%-62s %14s\n' "boot: reset -> first guest instruction (4 MiB VM)" "$boot"
printf '%-62s %14s\n' "  reset -> arm64_boot_main (.bss zeroed)" "$((mark_boot_main * 16))"
printf '%-62s %14s\n' "  reset -> EL2 MMU on" "$((mark_mmu_on * 16))"
printf '%-62s %14s\n' "  reset -> platform discovered" "$((mark_platform * 16))"
printf '%-62s %14s\n' "  platform printed (platform discovered -> feature report)" "$printing"
echo "per-VM hypervisor memory, 512 MiB VM: $mem_text"
bench_result arm64.psci_version.loop "$(per "$psci_loop")"
bench_result arm64.psci_version.el2 "$(per "$((psci_loop - psci_nop))")"
bench_result arm64.null_call.loop "$(per "$null_loop")"
bench_result arm64.null_call.el2 "$(per "$((null_loop - null_nop))")"
bench_result arm64.boot.first_guest_insn "$boot"
bench_result arm64.boot.boot_main "$((mark_boot_main * 16))"
bench_result arm64.boot.mmu_on "$((mark_mmu_on * 16))"
bench_result arm64.boot.platform "$((mark_platform * 16))"
bench_result arm64.boot.platform_print "$printing"
bench_result arm64.vm_memory_512M "$mem"
