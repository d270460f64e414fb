#!/bin/sh
# VMMCALL and CPUID round trips on x86_64 AMD SVM under QEMU TCG (`-cpu max`, 2 CPUs) with
# `-icount shift=0,align=off,sleep=off`: one virtual ns = one executed instruction, and the
# guest's TSC counts virtual ns. The test guest in guest:bench mode (the same code as the
# VMX figure's, tests/guest/x86_64/vm/bench.c) times 1,000 of each with RDTSC after a
# calibration loop of 10,000 x inc+jne (20,000 instructions), which this script checks
# reads 20,000 ticks give or take the RDTSC pair's few: 1 tick = 1 instruction. A round
# trip is the guest loop's 5 instructions (xor, xor, VMMCALL/CPUID, add, jne), VMRUN and
# #VMEXIT, and the hypervisor's path: svm/entry.S's VMSAVE/VMLOAD switch, the C loop, the
# handler and the instruction fetch + Zydis decode that stands in for NRIPS. "Hypervisor
# side" = per round trip minus those 5. QEMU's icount is one count for both CPUs: the boot
# core's idle loop (a PAUSE ends its time slice at once) adds its few instructions each
# time the round robin passes it, so the figures are an upper bound.
#   bench/x86_svm_bench.sh [build/x86_64/keel-x86_64-test.bin]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
img=${1:-build/x86_64/keel-x86_64-test.bin}
[ -f "$img" ] || bench_fail "no image $img (build it: cmake --build --preset default)"
guest_insns=5
log=$bench_tmp/qemu.log
bench_run python3 "$here/../tools/keel-run" --machine qemu-x86_64 --image "$img" --cpu max \
    --smp 2 --mem 512M --append "keel.vm=cpus:1,mem:4M,guest:bench" --wait-exit --timeout 120 \
    --expect "keel: all VMs ended" --log "$log" -- -icount shift=0,align=off,sleep=off \
    >/dev/null 2>&1 || true
cal=$(bench_x86_ticks "$log" calibration)
vmmcall=$(bench_x86_ticks "$log" vmmcall)
cpuid=$(bench_x86_ticks "$log" cpuid)
bench_need "$cal" "'bench: calibration loop' line" "$log"
bench_need "$vmmcall" "'bench: vmmcall null round trip' line" "$log"
bench_need "$cpuid" "'bench: cpuid leaf 0 round trip' line" "$log"
# 100 TSC-deadline timer deliveries each (apic.c): the sum of (guest handler's TSC -
# deadline). "running": the guest spins, so the core's kick timer (armed at the vCPU's
# deadline) interrupts it: the physical interrupt -> exit -> injection -> the guest's IDT
# stub -> its C handler's RDTSC. "halted": the vCPU waits in the hypervisor's HLT loop.
timer_run=$(bench_x86_ticks "$log" "tsc-deadline timer to handler, guest running")
timer_hlt=$(bench_x86_ticks "$log" "tsc-deadline timer to handler, guest halted")
bench_need "$timer_run" "'bench: tsc-deadline timer to handler, guest running' line" "$log"
bench_need "$timer_hlt" "'bench: tsc-deadline timer to handler, guest halted' line" "$log"
# The calibration must show 1 tick = 1 instruction (20,000 + the RDTSC pair's few).
[ "$cal" -ge 20000 ] && [ "$cal" -le 20100 ] ||
    bench_fail "calibration read $cal ticks for 20,000 instructions: the TSC is not instruction-driven"
printf '%-44s %8s %10s %12s %12s\n' "benchmark (QEMU -icount, 1 tick = 1 instr)" "rounds" "ticks" "per round" "hypervisor"
printf '%-44s %8s %10s %12s %12s\n' "calibration inc+jne (20,000 instr)" 10000 "$cal" "$((cal / 10000))" ""
printf '%-44s %8s %10s %12s %12s\n' "x86 SVM VMMCALL null round trip" 1000 "$vmmcall" "$((vmmcall / 1000))" "$((vmmcall / 1000 - guest_insns))"
printf '%-44s %8s %10s %12s %12s\n' "x86 SVM CPUID leaf 0 round trip" 1000 "$cpuid" "$((cpuid / 1000))" "$((cpuid / 1000 - guest_insns))"
bench_result x86svm.calibration_ticks_per_20000 "$cal"
bench_result x86svm.vmmcall.round_trip "$((vmmcall / 1000))"
bench_result x86svm.vmmcall.hypervisor "$((vmmcall / 1000 - guest_insns))"
bench_result x86svm.cpuid.round_trip "$((cpuid / 1000))"
bench_result x86svm.cpuid.hypervisor "$((cpuid / 1000 - guest_insns))"
printf '%-44s %8s %10s %12s %12s\n' "timer deadline -> guest handler, running" 100 "$timer_run" "$((timer_run / 100))" ""
printf '%-44s %8s %10s %12s %12s\n' "timer deadline -> guest handler, halted" 100 "$timer_hlt" "$((timer_hlt / 100))" ""
bench_result x86svm.timer.running "$((timer_run / 100))"
bench_result x86svm.timer.halted "$((timer_hlt / 100))"
