#!/bin/sh
# VMCALL and CPUID round trips on x86_64 VT-x under Bochs 2.7 (corei7_skylake_x, 2 CPUs,
# ips=200000000, clock sync=none). The test guest in guest:bench mode times 1,000 of each
# with RDTSC (RDTSC does not exit). Bochs's TSC is instruction-driven: the guest's own
# calibration loop (10,000 x inc+jne = 20,000 instructions) reads 20,010 ticks, i.e.
# 1 tick = 1 emulated instruction. So ticks per round trip = instructions executed per
# round trip: ~4 guest instructions (loop + VMCALL/CPUID), the VM exit and VM entry, and
# the hypervisor's handler path (exit stub, dispatch, handler, VMRESUME stub).
#   bench/x86_vmx_bench.sh build/x86_64/keel-x86_64-vm-bench.iso
set -eu
iso=${1:-build/x86_64/keel-x86_64-vm-bench.iso}
log=$(mktemp)
python3 "$(dirname "$0")/../tools/keel-run" --machine bochs --image "$iso" --smp 2 --mem 128M \
  --wait-exit --timeout 120 --expect "keel: all VMs ended" --log "$log" >/dev/null || true
ticks() { grep "bench: $1" "$log" | sed -n 's/.* \([0-9]*\) ticks total.*/\1/p' | head -1; }
cal=$(ticks calibration); vmcall=$(ticks vmcall); cpuid=$(ticks cpuid)
rm -f "$log"
[ -n "$cpuid" ] || { echo "bench: no result lines"; exit 1; }
printf '%-34s %8s %10s %18s\n' "benchmark (Bochs 2.7, 1 tick = 1 instr)" "rounds" "ticks" "ticks/round trip"
printf '%-34s %8s %10s %18s\n' "calibration inc+jne (20,000 instr)" 10000 "$cal" "$(( cal / 10000 ))"
printf '%-34s %8s %10s %18s\n' "x86 VMCALL null round trip" 1000 "$vmcall" "$(( vmcall / 1000 ))"
printf '%-34s %8s %10s %18s\n' "x86 CPUID leaf 0 round trip" 1000 "$cpuid" "$(( cpuid / 1000 ))"
