#!/bin/sh
# Runs every benchmark, one after the other (they are CPU bound; instruction counts do
# not depend on load, but parallel runs only slow each other), and writes the
# figure | measured | goal table into docs/performance.md between the
# <!-- bench:begin --> and <!-- bench:end --> markers, so no figure there is typed by hand.
#   bench/arm64_hvc.sh         arm64 hypercalls (PSCI_VERSION, Keel null call), boot, memory
#   bench/arm64_linux_boot.sh  Linux boot, Keel vs bare QEMU with Keel's DTB (3 runs each)
#   bench/x86_vmx_bench.sh     x86 VMCALL/CPUID on Bochs
#   bench/x86_linux_boot.sh    x86 Linux boot, Keel/SVM vs bare QEMU with Keel's boot_params
#   bench/x86_svm_bench.sh     x86 VMMCALL/CPUID on QEMU's SVM (-icount)
#   bench/mailbox_bench.sh     authenticated mailbox command round trip, session handshake
#   bench/update_bench.sh      live update: quiesce -> resume, handover record size (arm64;
#                              x86_64 writes its own table, between the bench:update-x86_64 markers)
#   bench/sriov_io.sh          NVMe SR-IOV VF I/O, Keel vs bare QEMU (its own table, written
#                              between the bench:sriov markers)
# A goal figure that is missing fails the run (exit 1) and leaves the docs as they were;
# the figures that are not goals are marked "not measured" with the reason.
#   bench/all.sh [--print] [BUILD_DIR]      --print: show the table, do not write the docs
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
write=1
if [ "${1:-}" = "--print" ]; then
    write=0
    shift
fi
build=${1:-build}
doc=$(cd "$here/../docs" && pwd)/performance.md
bench_doc_check "$doc" bench
bench_doc_check "$doc" bench:sriov

failed=
# one NAME SCRIPT ARGS...: runs a benchmark, shows its output, keeps it for the table.
one() {
    name=$1
    shift
    echo "== $name: $*"
    rc=0
    bench_run sh "$@" >"$bench_tmp/$name.out" 2>&1 || rc=$?
    cat "$bench_tmp/$name.out"
    if [ "$rc" -ne 0 ]; then
        echo "== $name: exit status $rc"
        failed="$failed $name"
    fi
}
one hvc "$here/arm64_hvc.sh" "$build/arm64/keel-arm64-test.bin"
one linux "$here/arm64_linux_boot.sh" "$build"
one x86linux "$here/x86_linux_boot.sh" "$build"
one x86 "$here/x86_vmx_bench.sh" "$build/x86_64/keel-x86_64-vm-bench.iso"
one svm "$here/x86_svm_bench.sh" "$build/x86_64/keel-x86_64-test.bin"
one mailbox "$here/mailbox_bench.sh" "$build" 10
one update "$here/update_bench.sh" "$build" 5
# x86_64's live update writes its own table (between the bench:update-x86_64 markers).
if [ "$write" = 1 ]; then
    one update_x86 "$here/update_bench.sh" --doc "$build" 5 x86_64
else
    one update_x86 "$here/update_bench.sh" "$build" 5 x86_64
fi
# Its own table, written below between the bench:sriov markers.
one sriov "$here/sriov_io.sh" --table "$bench_tmp/sriov-table.md" "$build"
cat "$bench_tmp"/*.out | sed -n 's/^bench-result //p' >"$bench_tmp/results"

# res KEY: the result's value ("" when missing).
res() { sed -n "s/^$1 //p" "$bench_tmp/results" | head -n 1; }
# The figures the goals are about, and what they are read with: all must be there.
missing=
for k in arm64.boot.first_guest_insn arm64.boot.platform_print \
    arm64.boot.boot_main arm64.boot.mmu_on arm64.boot.platform arm64.psci_version.el2 \
    arm64.psci_version.loop arm64.null_call.el2 arm64.null_call.loop arm64.vm_memory_512M \
    x86.vmcall.hypervisor x86.vmcall.round_trip x86.cpuid.hypervisor x86.cpuid.round_trip \
    x86svm.vmmcall.hypervisor x86svm.vmmcall.round_trip x86svm.cpuid.hypervisor x86svm.cpuid.round_trip \
    linux.runs linux.ratio_entry_keeldtb linux.ratio_entry_qemudtb linux.ratio_reset_keeldtb \
    linux.keel_entry linux.bare_keeldtb linux.bare_qemudtb linux.keel_reset mailbox.ping \
    x86linux.runs x86linux.ratio_entry x86linux.keel_entry x86linux.bare x86linux.keel_reset; do
    [ -n "$(res "$k")" ] || missing="$missing $k"
done
# n 1234567 -> 1,234,567 (decimals kept)
n() { echo "$1" | sed ':a; s/^\([0-9]*\)\([0-9]\{3\}\)/\1,\2/; ta; s/^,//'; }
# range "med min max" -> "med (min - max)"
range() {
    set -- $1
    [ $# -eq 3 ] || { echo "${1:-}"; return; }
    if [ "$2" = "$3" ]; then echo "$(n "$1") (every run)"; else echo "$(n "$1") ($(n "$2") - $(n "$3"))"; fi
}
# goal VALUE LIMIT TEXT: TEXT, and whether VALUE <= LIMIT.
goal() {
    if [ -z "$1" ]; then echo "$3"; elif [ "$(echo "$1 <= $2" | bc)" = 1 ]; then echo "$3: met"; else echo "$3: not met"; fi
}
first() { set -- $1; echo "${1:-}"; }

note=$(sed -n 's/^note: //p' "$bench_tmp/mailbox.out" | head -n 1)

table=$bench_tmp/table.md
{
    echo "Written by \`bench/all.sh\` ($(git -C "$here/.." describe --always --dirty 2>/dev/null || echo "no git"), $(date -u +%Y-%m-%d)); instruction counts unless named otherwise."
    echo
    echo "| figure | measured | goal |"
    echo "|---|---|---|"
    echo "| arm64 boot: reset -> first guest instruction (4 MiB test VM) | $(n "$(res arm64.boot.first_guest_insn)") | $(goal "$(res arm64.boot.first_guest_insn)" 340000 "<= 340 k") |"
    echo "| &nbsp; of which printing the platform (platform discovered -> feature report; the crypto self-check runs after the first VM starts) | $(n "$(res arm64.boot.platform_print)") | |"
    echo "| &nbsp; reset -> arm64_boot_main / EL2 MMU on / platform discovered | $(n "$(res arm64.boot.boot_main)") / $(n "$(res arm64.boot.mmu_on)") / $(n "$(res arm64.boot.platform)") | |"
    echo "| arm64 PSCI_VERSION (HVC 0x84000000) round trip, EL2 path alone | $(res arm64.psci_version.el2) | $(goal "$(res arm64.psci_version.el2)" 150 "<= 150 (stretch 100)") |"
    echo "| &nbsp; whole guest loop iteration (4 guest instructions + EL2 path) | $(res arm64.psci_version.loop) | |"
    echo "| arm64 Keel null call (HVC 0xC6000000), EL2 path alone | $(res arm64.null_call.el2) (loop iteration $(res arm64.null_call.loop)) | |"
    echo "| x86 VMCALL null round trip, hypervisor side (Bochs; whole round trip) | $(res x86.vmcall.hypervisor) ($(res x86.vmcall.round_trip)) | $(goal "$(res x86.vmcall.hypervisor)" 100 "<= 100") |"
    echo "| x86 CPUID leaf 0 round trip, hypervisor side (Bochs; whole round trip) | $(res x86.cpuid.hypervisor) ($(res x86.cpuid.round_trip)) | $(goal "$(res x86.cpuid.hypervisor)" 130 "<= 130") |"
    echo "| x86 SVM VMMCALL null round trip, hypervisor side (QEMU -icount, no NRIPS: RIP decoded; whole round trip) | $(res x86svm.vmmcall.hypervisor) ($(res x86svm.vmmcall.round_trip)) | |"
    echo "| x86 SVM CPUID leaf 0 round trip, hypervisor side (QEMU -icount; whole round trip) | $(res x86svm.cpuid.hypervisor) ($(res x86svm.cpuid.round_trip)) | |"
    echo "| x86 timer: TSC deadline -> guest handler, guest running (kick interrupt, exit, injection; VMX Bochs / SVM QEMU -icount) | $(res x86.timer.running) / $(res x86svm.timer.running) | |"
    echo "| &nbsp; same, guest halted in HLT (the hypervisor's wait loop) | $(res x86.timer.halted) / $(res x86svm.timer.halted) | |"
    echo "| Linux guest entry -> /init, Keel / bare QEMU given Keel's DTB, median (range), $(res linux.runs) runs | $(range "$(res linux.ratio_entry_keeldtb)") | $(goal "$(first "$(res linux.ratio_entry_keeldtb)")" 1.05 "<= 1.05") |"
    echo "| &nbsp; Keel: guest entry -> /init | $(range "$(res linux.keel_entry)") | |"
    echo "| &nbsp; bare QEMU, Keel's DTB: reset -> /init | $(range "$(res linux.bare_keeldtb)") | |"
    echo "| &nbsp; ratio against bare QEMU with QEMU's own DTB | $(range "$(res linux.ratio_entry_qemudtb)") | |"
    echo "| &nbsp; bare QEMU, QEMU's own DTB: reset -> /init | $(range "$(res linux.bare_qemudtb)") | |"
    echo "| &nbsp; ratio counting from reset (Keel's own boot included) | $(range "$(res linux.ratio_reset_keeldtb)") | |"
    echo "| &nbsp; Keel: reset -> /init | $(range "$(res linux.keel_reset)") | |"
    echo "| x86 Linux guest entry -> /init, Keel/SVM / bare QEMU given Keel's boot_params and ACPI, median (range), $(res x86linux.runs) runs (QEMU -icount: virtual ns) | $(range "$(res x86linux.ratio_entry)") | $(goal "$(first "$(res x86linux.ratio_entry)")" 1.05 "<= 1.05") |"
    echo "| &nbsp; Keel/SVM: guest entry -> /init | $(range "$(res x86linux.keel_entry)") | |"
    echo "| &nbsp; bare QEMU: entry -> /init | $(range "$(res x86linux.bare)") | |"
    echo "| &nbsp; Keel/SVM: reset -> /init | $(range "$(res x86linux.keel_reset)") | |"
    echo "| &nbsp; ratio, kernel clock start -> /init (CLOCK_MONOTONIC at /init): Keel / bare | $(range "$(res x86linux.ratio_kernel)") | |"
    echo "| &nbsp; ratio, entry -> kernel clock start (decompression, early set-up): Keel / bare | $(range "$(res x86linux.ratio_pre)") | |"
    echo "| hypervisor memory per VM, 512 MiB guest (bytes) | $(n "$(res arm64.vm_memory_512M)") | $(goal "$(res arm64.vm_memory_512M)" 65536 "<= 64 KiB") |"
    echo "| mailbox command round trip (PING in a session, pickup -> response published), median (range) of 10 | $(range "$(res mailbox.ping)") | $(goal "$(first "$(res mailbox.ping)")" 100000 "<= 100 k") |"
    echo "| &nbsp; of which session check (id, sequence, HMAC-SHA256) | $(range "$(res mailbox.verify)") | |"
    echo "| &nbsp; rest: copy, decode, dispatch, audit record + MAC, response + MAC | $(range "$(res mailbox.rest)") | |"
    echo "| mailbox CONSOLE_WRITE round trip (to a stopped VM: BadState), median (range) of 10 | $(range "$(res mailbox.console_write)") | $(goal "$(first "$(res mailbox.console_write)")" 100000 "<= 100 k") |"
    echo "| mailbox session handshake (HELLO: P-384 verify, X25519, HKDF, next offer), median (range) of 3 | $(range "$(res mailbox.handshake)") | |"
    echo "| live update Apply: quiesce request -> every vCPU back in its guest under the new image (record written and checked, the jump, adoption, every core moved over; two test guests), median (range) of 5 | $(range "$(res update.quiesce_to_resume)") | <= 3 M guest-visible blackout |"
    echo "| &nbsp; as the guests saw it: the longer of two guests' virtual-counter gaps spanning the quiesce (keel.guest=gaps), median (range) of 5 | $(range "$(res update.guest_gap)") | <= 3 M |"
    echo "| &nbsp; handover record bytes (two VMs) | $(n "$(res update.record_bytes)") | |"
    echo "| &nbsp; total update time: Keel's work for one update (the chunks' copies, Verify, placing, the blackout, the commit; other cores' turns included, -icount round robin), median (range) of 5 | $(range "$(res update.total)") | |"
    echo "| &nbsp; of which Verify (signature, segment hashes, note) | $(range "$(res update.verify)") | |"
    echo "| x86_64 live update (SVM, QEMU -icount): quiesce request -> every vCPU back in its guest under the new image, median (range) of 5 (steps: its own table below) | $(range "$(res update_x86.quiesce_to_resume)") | <= 3 M guest-visible blackout |"
    echo "| &nbsp; as the guests saw it: the longer of two guests' TSC gaps spanning the quiesce | $(range "$(res update_x86.guest_gap)") | <= 3 M |"
    if [ -n "$(res mailbox.start_to_output)" ]; then
        echo "| mailbox VM START -> first guest console output (virtual ns = instructions) | $(n "$(res mailbox.start_to_output)") | |"
    else
        echo "| mailbox VM START -> first guest console output | not measured (note below) | |"
    fi
    if [ -n "$note" ] && [ -z "$(res mailbox.start_to_output)" ]; then
        echo
        echo "Note (bench/mailbox_bench.sh): $note"
    fi
} >"$table"
echo
echo "== table"
cat "$table"
[ -z "$failed" ] || echo "== benchmarks that exited non-zero:$failed"
[ -z "$missing" ] || bench_fail "goal figures missing:$missing (docs not written)"
if [ "$write" = 1 ]; then
    bench_doc_write "$doc" bench "$table"
    if [ -s "$bench_tmp/sriov-table.md" ]; then
        bench_doc_write "$doc" bench:sriov "$bench_tmp/sriov-table.md"
    else
        echo "== the SR-IOV table was not written (bench/sriov_io.sh failed; its section is as it was)"
    fi
fi
