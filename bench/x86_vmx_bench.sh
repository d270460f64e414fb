#!/bin/sh
# VMCALL and CPUID round trips on x86_64 VT-x under Bochs 2.7 (corei7_skylake_x, 2 CPUs,
# ips=200000000, clock sync=none). The test guest in guest:bench mode times 1,000 of each
# with RDTSC (RDTSC does not exit). Bochs's TSC is instruction-driven: the guest's own
# calibration loop (10,000 x inc+jne = 20,000 instructions) reads 20,010 ticks, i.e.
# 1 tick = 1 emulated instruction. So ticks per round trip = instructions executed per
# round trip: the guest loop's 5 instructions (xor, xor, VMCALL/CPUID, add, jne: the -O2
# code of tests/guest/x86_64/vm/bench.c), the VM exit and VM entry, and the hypervisor's
# path (exit stub, dispatch, handler, VMRESUME stub). "Hypervisor side" = per round trip
# minus those 5 guest instructions (the arm64 figure's NOP-loop difference, likewise).
#   bench/x86_vmx_bench.sh [build/x86_64/keel-x86_64-vm-bench.iso]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
iso=${1:-build/x86_64/keel-x86_64-vm-bench.iso}
[ -f "$iso" ] || bench_fail "no image $iso (build it: cmake --build --preset default)"
guest_insns=5
log=$bench_tmp/bochs.log
bench_run python3 "$here/../tools/keel-run" --machine bochs --image "$iso" --smp 2 --mem 128M \
    --wait-exit --timeout 120 --expect "keel: all VMs ended" --log "$log" >/dev/null 2>&1 || true
sed -i 's/\r$//' "$log" 2>/dev/null || true
cal=$(bench_x86_ticks "$log" calibration)
vmcall=$(bench_x86_ticks "$log" vmcall)
cpuid=$(bench_x86_ticks "$log" cpuid)
bench_need "$cal" "'bench: calibration loop' line" "$log"
bench_need "$vmcall" "'bench: vmcall null round trip' line" "$log"
bench_need "$cpuid" "'bench: cpuid leaf 0 round trip' line" "$log"
# 100 TSC-deadline timer deliveries each (apic.c): the sum of (guest handler's TSC -
# deadline). "running": the guest spins, so the core's kick timer (armed at the vCPU's
# deadline) interrupts it: the physical interrupt -> exit -> injection -> the guest's IDT
# stub -> its C handler's RDTSC. "halted": the vCPU waits in the hypervisor's HLT loop.
timer_run=$(bench_x86_ticks "$log" "tsc-deadline timer to handler, guest running")
timer_hlt=$(bench_x86_ticks "$log" "tsc-deadline timer to handler, guest halted")
bench_need "$timer_run" "'bench: tsc-deadline timer to handler, guest running' line" "$log"
bench_need "$timer_hlt" "'bench: tsc-deadline timer to handler, guest halted' line" "$log"
printf '%-40s %8s %10s %12s %12s\n' "benchmark (Bochs 2.7, 1 tick = 1 instr)" "rounds" "ticks" "per round" "hypervisor"
printf '%-40s %8s %10s %12s %12s\n' "calibration inc+jne (20,000 instr)" 10000 "$cal" "$((cal / 10000))" ""
printf '%-40s %8s %10s %12s %12s\n' "x86 VMCALL null round trip" 1000 "$vmcall" "$((vmcall / 1000))" "$((vmcall / 1000 - guest_insns))"
printf '%-40s %8s %10s %12s %12s\n' "x86 CPUID leaf 0 round trip" 1000 "$cpuid" "$((cpuid / 1000))" "$((cpuid / 1000 - guest_insns))"
bench_result x86.calibration_ticks_per_20000 "$cal"
bench_result x86.vmcall.round_trip "$((vmcall / 1000))"
bench_result x86.vmcall.hypervisor "$((vmcall / 1000 - guest_insns))"
bench_result x86.cpuid.round_trip "$((cpuid / 1000))"
bench_result x86.cpuid.hypervisor "$((cpuid / 1000 - guest_insns))"
printf '%-40s %8s %10s %12s %12s\n' "timer deadline -> guest handler, running" 100 "$timer_run" "$((timer_run / 100))" ""
printf '%-40s %8s %10s %12s %12s\n' "timer deadline -> guest handler, halted" 100 "$timer_hlt" "$((timer_hlt / 100))" ""
bench_result x86.timer.running "$((timer_run / 100))"
bench_result x86.timer.halted "$((timer_hlt / 100))"
