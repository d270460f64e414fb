#!/bin/sh
# NVMe SR-IOV VF I/O in a Linux guest under Keel vs the same Linux on bare QEMU given the
# same VF (issue 13, docs/sriov.md "Benchmark"). One QEMU 7.2 machine for both: virt with
# gic-version=3 and iommu=smmuv3 (Keel adds virtualization=on), -cpu max,pauth=off, -smp 1
# (Keel in bench mode, `keel.bench`: the VM on the boot core), -icount
# shift=0,align=off,sleep=off, and the tests' nvme PF (nvme-subsys, sriov_max_vfs=2,
# sriov_vq_flexible=4, sriov_vi_flexible=2, two namespaces attached to no controller), here
# backed by null-co (reads return zeros, writes are dropped, no host file I/O; each request
# completes after 100 us of real time, so the submitting thread always sleeps). The same
# kernel and initramfs (bench/sriov_io_init as /init): under Keel the VM gets VF 00:01.1,
# which Keel provisioned at boot; bare Linux (QEMU's own device tree: the real PCIe host, its
# ITS, the SMMU in bypass with iommu.passthrough=1) enables the VFs itself through sysfs and
# provisions VF 1 with the same admin commands as Keel's PF driver (keel-nvme-bench
# provision), then binds nvme to it. Both run keel-nvme-bench (bench/sriov_io.c): O_DIRECT,
# queue depth 1, MIB MiB written then read in 128 KiB requests, COUNT random 4 KiB reads.
#
# What is measured: the core's instructions per I/O, guest and hypervisor together, with
# the instructions the guest's idle spinner ran while the device worked taken out (1 ns of
# virtual time = 1 instruction, one CNTVCT tick = 16; the spinner counts 3 instructions a
# loop), and less the guest's timer ticks that fell into the phase at what one costs when
# nothing else runs (the "sleep" phase). Under TCG the device's own time is QEMU's main loop
# in real time, so it is left out:
# "MB/s" and "IOPS" are what one core at 1 instruction/ns would reach if the device took no
# time, i.e. the CPU cost of the I/O path, which is where virtualization costs anything.
# Keel's exits, interrupt exits and MSIs per I/O come from its counters printed after the
# guest's KEEL-BENCH marker lines, less what the marker lines themselves cost (the
# "calibrate" phase); the guest's own count of the queue's interrupts per I/O comes from
# /proc/interrupts.
#   bench/sriov_io.sh [--print | --check | --table FILE] [BUILD_DIR] [GUEST_DIR]
#     --print: show the table, do not write it into docs/performance.md
#     --table FILE: the table into FILE instead (bench/all.sh writes it with the rest)
#     --check: one small run each, checked (below); the emulator test arm64.sriov_io_bench
#     KEEL_BENCH_RUNS=N (5), KEEL_SRIOV_MIB=N (16), KEEL_SRIOV_COUNT=N (1000),
#     KEEL_SRIOV_LOGS=DIR: each run's serial log and parsed figures copied there
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
write=1 check=0 table_out=
case "${1:-}" in
--print) write=0 && shift ;;
--check) write=0 check=1 && shift ;;
--table) write=0 table_out=$2 && shift 2 ;;
esac
build=${1:-build}
guests=${2:-${KEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keel}/guests}
runs=${KEEL_BENCH_RUNS:-5}
mib=${KEEL_SRIOV_MIB:-16}
count=${KEEL_SRIOV_COUNT:-1000}
[ "$check" = 0 ] || { runs=1 mib=1 count=50; }
img=$build/arm64/keel-arm64.bin
kernel=$guests/Image-arm64
for f in "$img" "$kernel" "$guests/initramfs-arm64.cpio.gz"; do
    [ -f "$f" ] || bench_fail "missing $f (build: cmake --build --preset default; guests: tools/fetch-guests.sh)"
done
doc=$(cd "$here/../docs" && pwd)/performance.md
[ "$write" = 0 ] || bench_doc_check "$doc" bench:sriov
work=$bench_tmp
clang --target=aarch64-linux-gnu -nostdlib -static -fuse-ld=lld -ffreestanding -fno-stack-protector -O2 \
    -o "$work/keel-nvme-bench" "$here/sriov_io.c"
bench_initramfs "$guests/initramfs-arm64.cpio.gz" "$here/sriov_io_init" "$work/rd.gz" "$work/keel-nvme-bench"
rd_size=$(stat -c %s "$work/rd.gz")

q="qemu-system-aarch64 -cpu max,pauth=off -smp 1 -display none -monitor none -nic none -no-reboot"
q="$q -icount shift=0,align=off,sleep=off"
nvme="-blockdev driver=null-co,node-name=nvm1,read-zeroes=on,latency-ns=100000,size=1073741824"
nvme="$nvme -blockdev driver=null-co,node-name=nvm2,read-zeroes=on,latency-ns=100000,size=1073741824 -device nvme-subsys,id=s0"
nvme="$nvme -device nvme,serial=pf0,subsys=s0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2"
nvme="$nvme -device nvme-ns,drive=nvm1,nsid=1,detached=on -device nvme-ns,drive=nvm2,nsid=2,detached=on"
args="quiet keel.mib=$mib keel.count=$count"
phases="seqwrite seqread randread"

# parse LOG OUT: one line per phase, "PHASE ios bytes ticks spins irqs timer exits irq_exits
# msis handling_ticks" (the last four from Keel's counters, 0 without them), calibrate's
# first. Fails naming what is missing.
parse() {
    if grep -q "KEEL-SRIOV: FAIL" "$1"; then
        bench_need "" "run without 'KEEL-SRIOV: FAIL' ($(grep -m1 'KEEL-SRIOV: FAIL' "$1"))" "$1"
    fi
    awk '
        { sub(/\r$/, "") }
        /KEEL-BENCH: begin / { sub(/.*KEEL-BENCH: begin /, ""); phase = $1; at = "b"; next }
        /KEEL-BENCH: end/ { at = "e"; next }
        /bench counters: / {
            # "N exits, N irq exits, N msis, N handling ticks"
            sub(/.*bench counters: /, ""); gsub(/,/, "")
            if (at == "b") { e0 = $1; q0 = $3; m0 = $6; h0 = $8 }
            else { e1[phase] = $1 - e0; q1[phase] = $3 - q0; m1[phase] = $6 - m0; h1[phase] = $8 - h0 }
            next
        }
        /KEEL-SRIOV: [a-z]* ios / {
            sub(/.*KEEL-SRIOV: /, "")
            line[$1] = $1 " " $3 " " $5 " " $7 " " $9 " " $11 " " $13
            order[n++] = $1
        }
        END {
            for (i = 0; i < n; i++) { p = order[i]; print line[p], e1[p] + 0, q1[p] + 0, m1[p] + 0, h1[p] + 0 }
        }' "$1" >"$2"
    for p in calibrate sleep syscall $phases; do
        grep -q "^$p " "$2" || bench_need "" "'KEEL-SRIOV: $p' line" "$1"
    done
}

i=1
while [ "$i" -le "$runs" ]; do
    log=$work/bare-$i.log
    bench_run timeout 300 $q -M virt,gic-version=3,iommu=smmuv3 -m 256M -serial "file:$log" \
        -kernel "$kernel" -initrd "$work/rd.gz" -append "$args keel.sriov=bare iommu.passthrough=1" \
        $nvme 2>/dev/null || true
    parse "$log" "$work/bare-$i.txt"

    log=$work/keel-$i.log
    bench_run timeout 300 $q -M virt,virtualization=on,gic-version=3,iommu=smmuv3 -m 1G \
        -serial "file:$log" -kernel "$img" \
        -append "keel.bench keel.vm=cpus:0,mem:256M,vf:00:01.1,kernel:0x60000000,initrd:0x64000000+$rd_size,args:$(echo "$args keel.sriov=keel" | tr ' ' '+')" \
        -device loader,file="$kernel",addr=0x60000000,force-raw=on \
        -device loader,file="$work/rd.gz",addr=0x64000000,force-raw=on $nvme 2>/dev/null || true
    grep -q "bench counters" "$log" || bench_need "" "'bench counters' lines (Keel, run $i)" "$log"
    parse "$log" "$work/keel-$i.txt"
    [ -z "${KEEL_SRIOV_LOGS:-}" ] || cp "$work/bare-$i.log" "$work/bare-$i.txt" "$work/keel-$i.log" \
        "$work/keel-$i.txt" "$KEEL_SRIOV_LOGS/"
    i=$((i + 1))
done

# --check (the test arm64.sriov_io_bench): one small run each, and what must hold whatever
# the timing: every I/O completed by exactly one interrupt in the guest, under Keel by exactly
# one MSI Keel injected, and no exit besides those MSIs and the guest's timer ticks.
if [ "$check" = 1 ]; then
    bad=$(awk '
        FNR == 1 { mode = FILENAME ~ /\/keel-[0-9]+\.txt$/ ? "keel" : "bare" }
        $1 == "calibrate" { c8 = $8; c10 = $10 }
        $1 != "calibrate" && $1 != "sleep" && $1 != "syscall" {
            if ($6 != $2) printf "%s %s: %d I/Os, %d queue interrupts; ", mode, $1, $2, $6
            if (mode == "keel" && $10 - c10 != $2) printf "keel %s: %d I/Os, %d MSIs injected; ", $1, $2, $10 - c10
            if (mode == "keel" && $8 - c8 - ($10 - c10) > $7)
                printf "keel %s: %d exits besides MSIs, %d timer interrupts; ", $1, $8 - c8 - ($10 - c10), $7
        }' "$work/keel-1.txt" "$work/bare-1.txt")
    cat "$work/keel-1.txt" "$work/bare-1.txt"
    [ -z "$bad" ] || bench_fail "check: $bad"
    echo "sriov_io: check PASS"
    exit 0
fi

# field MODE PHASE EXPR: EXPR over each run's line of PHASE, one value per run. awk fields:
# $2 ios, $3 bytes, $4 ticks, $5 spins, $6 irqs, $7 guest timer interrupts, $8 exits, $9 irq
# exits, $10 msis, $11 handling ticks; c8..c11: calibrate's (the marker lines' own cost).
# Variables: el, the phase's virtual ns; busy, el less the spinner's instructions; bg, the
# guest timer interrupts that fell into the phase at what one costs with nothing else going
# on (the "sleep" phase's busy per timer interrupt); net = busy - bg.
field() {
    i=1
    while [ "$i" -le "$runs" ]; do
        awk -v p="$2" '
            $1 == "calibrate" { c8 = $8; c9 = $9; c10 = $10; c11 = $11 }
            $1 == "sleep" { tick = ($4 * 16 - $5 * 3) / $7 }
            $1 == p { el = $4 * 16; busy = el - $5 * 3; bg = tick * $7; net = busy - bg; print '"$3"' }
        ' "$work/$1-$i.txt"
        i=$((i + 1))
    done | tr '\n' ' '
}
# med "A B C": the median of decimals (awk), and the range.
med() { echo "$1" | tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)], v[1], v[NR]}'; }
f1() { set -- $1; printf '%.1f (%.1f - %.1f)' "$1" "$2" "$3"; }
f0() { set -- $1; printf '%.0f (%.0f - %.0f)' "$1" "$2" "$3"; }
f2() { set -- $1; printf '%.2f (%.2f - %.2f)' "$1" "$2" "$3"; }
f3() { set -- $1; printf '%.3f (%.3f - %.3f)' "$1" "$2" "$3"; }
# ratio_runs PHASE: Keel's throughput over bare's = bare net / Keel net: the ratio of the
# medians and the extremes the runs allow.
ratio_runs() {
    k=$(med "$(field keel "$1" 'net')")
    b=$(med "$(field bare "$1" 'net')")
    set -- $k $b
    awk -v km="$1" -v kmin="$2" -v kmax="$3" -v bm="$4" -v bmin="$5" -v bmax="$6" \
        'BEGIN { printf "%.4f %.4f %.4f", bm / km, bmin / kmax, bmax / kmin }'
}

table=$work/table.md
{
    echo "Written by \`bench/sriov_io.sh\` ($(git -C "$here/.." describe --always --dirty 2>/dev/null || echo "no git"), $(date -u +%Y-%m-%d)); median (range) of $runs runs each; $mib MiB sequential in 128 KiB requests, $count random 4 KiB reads, queue depth 1, O_DIRECT."
    echo
    echo "| figure | Keel | bare QEMU | Keel / bare | goal |"
    echo "|---|---|---|---|---|"
    for p in $phases; do
        case $p in
        seqwrite) label="sequential write, MB/s-equivalent" ;;
        seqread) label="sequential read, MB/s-equivalent" ;;
        randread) label="4 KiB random read, IOPS-equivalent" ;;
        esac
        if [ "$p" = randread ]; then
            kv=$(f0 "$(med "$(field keel $p '$2 * 1e9 / net')")")
            bv=$(f0 "$(med "$(field bare $p '$2 * 1e9 / net')")")
        else
            kv=$(f1 "$(med "$(field keel $p '$3 * 1000 / net')")")
            bv=$(f1 "$(med "$(field bare $p '$3 * 1000 / net')")")
        fi
        r=$(ratio_runs $p)
        set -- $r
        g=">= 0.95: met"
        [ "$(awk -v r="$1" 'BEGIN { print (r >= 0.95) }')" = 1 ] || g=">= 0.95: not met"
        echo "| $label | $kv | $bv | $(f3 "$r") | $g |"
    done
    for p in $phases; do
        echo "| &nbsp; $p: instructions per I/O (guest + hypervisor, background taken out) | $(f0 "$(med "$(field keel $p 'net / $2')")") | $(f0 "$(med "$(field bare $p 'net / $2')")") | | |"
    done
    echo "| &nbsp; for reference, a null system call (getppid), instructions: no device, no exit | $(f0 "$(med "$(field keel syscall 'net / $2')")") | $(f0 "$(med "$(field bare syscall 'net / $2')")") | | |"
    for p in $phases; do
        echo "| $p: hypervisor exits per I/O: all / MSIs injected / other exits | $(f3 "$(med "$(field keel $p '($8 - c8) / $2')")") / $(f3 "$(med "$(field keel $p '($10 - c10) / $2')")") / $(f3 "$(med "$(field keel $p '($8 - c8 - $10 + c10) / $2')")") | | | no exit but MSI delivery |"
    done
    for p in $phases; do
        echo "| &nbsp; $p: Keel's exit handling per I/O, instructions (world switch excluded) | $(f0 "$(med "$(field keel $p '($11 - c11) * 16 / $2')")") | | | |"
    done
    for p in $phases; do
        echo "| &nbsp; $p: the queue's interrupts / timer interrupts per I/O seen by the guest (other exits are timer ticks: at most one each) | $(f3 "$(med "$(field keel $p '$6 / $2')")") / $(f3 "$(med "$(field keel $p '$7 / $2')")") | $(f3 "$(med "$(field bare $p '$6 / $2')")") / $(f3 "$(med "$(field bare $p '$7 / $2')")") | | |"
    done
    echo "| &nbsp; one guest timer interrupt with the core otherwise waiting (under Keel with its exit), instructions | $(f0 "$(med "$(field keel sleep 'tick')")") | $(f0 "$(med "$(field bare sleep 'tick')")") | | |"
    for p in $phases; do
        echo "| &nbsp; $p: virtual ns per I/O with the emulated device's wait (real-time dependent, not a result) | $(f0 "$(med "$(field keel $p 'el / $2')")") | $(f0 "$(med "$(field bare $p 'el / $2')")") | | |"
    done
} >"$table"
echo
cat "$table"
for p in $phases; do
    bench_result "sriov.ratio_$p" "$(ratio_runs $p)"
    bench_result "sriov.keel_insn_$p" "$(med "$(field keel $p 'net / $2')")"
    bench_result "sriov.bare_insn_$p" "$(med "$(field bare $p 'net / $2')")"
    bench_result "sriov.exits_$p" "$(med "$(field keel $p '($8 - c8) / $2')")"
    bench_result "sriov.msis_$p" "$(med "$(field keel $p '($10 - c10) / $2')")"
done
bench_result sriov.runs "$runs"
[ -z "$table_out" ] || cp "$table" "$table_out"
[ "$write" = 0 ] || bench_doc_write "$doc" bench:sriov "$table"
