#!/bin/sh
# Live update figures under QEMU icount (docs/handover.md §4, §5.1, docs/performance.md): boots
# the arm64 (or x86_64: q35, SVM) image with an ivshmem mailbox and `-icount shift=0,align=off,sleep=off`, starts two
# test guests, and runs ROUNDS UPDATE Applies of a freshly signed keel.img
# (tests/emu/mailbox_e2e.py, scenario update_bench): the instructions from the quiesce request
# to the last vCPU back in its guest under the new image (the record written and checked, the
# jump, adoption, every core moved over: docs/handover.md §4), as the new image measures it
# and as the guests saw it (keel.guest=gaps: the gap of each guest's virtual counter that
# spans the quiesce), the record's size, and Keel's own work for a whole update step by step
# (the chunks' copies, Verify, placing, the blackout, the commit: its "update: timing:"
# lines) and their total; on x86_64 also the incoming image's own steps (its "handover:
# timing:" line). Prints a markdown table, then bench-result lines (keys update.* on arm64,
# update_x86.* on x86_64).
#   bench/update_bench.sh [--doc] BUILD_DIR [ROUNDS] [arm64|x86_64]
#     --doc: also write the table into docs/performance.md between the bench:update-ARCH
#     markers (x86_64 has its own section there; arm64's figures are in bench/all.sh's table)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
write_doc=0
if [ "${1:-}" = "--doc" ]; then
    write_doc=1
    shift
fi
B=${1:?usage: update_bench.sh BUILD_DIR [ROUNDS] [arm64|x86_64]}
rounds=${2:-10}
e2e_arch=${3:-arm64}
case $e2e_arch in
arm64) key=update ;;
x86_64) key=update_x86 ;;
*) bench_fail "unknown arch $e2e_arch (arm64 or x86_64)" ;;
esac
for f in "$B/$e2e_arch/keel-$e2e_arch.elf" "$B/keel-sign" "$B/keys/dev-signing.pem"; do
    [ -f "$f" ] || bench_fail "missing $f (build: cmake --build --preset default)"
done
out=$bench_tmp/update.out
rc=0
bench_mailbox_e2e "$B" "$out" "$rounds" 900 --keel-sign "$B/keel-sign" \
    --elf "$B/$e2e_arch/keel-$e2e_arch.elf" --sign-key "$B/keys/dev-signing.pem" update_bench || rc=$?
cat "$out"
row() { grep -F "| $1" "$out" | head -n 1 | awk -F'|' '{gsub(/ /, "", $3); gsub(/ /, "", $4); gsub(/ /, "", $5); print $3, $4, $5}'; }
apply=$(row "Apply: quiesce request -> every vCPU back in its guest")
bench_need "$apply" "'Apply' row" "$out"
bench_result $key.quiesce_to_resume "$apply"
bench_result $key.record_bytes "$(row "handover record bytes" | awk '{print $1}')"
seen=$(row "guest-observed blackout")
bench_need "$seen" "'guest-observed blackout' row" "$out"
bench_result $key.guest_gap "$seen"
total=$(row "total: Keel's work for one update")
bench_need "$total" "'total' row" "$out"
bench_result $key.total "$total"
bench_result $key.verify "$(row "Verify: signature")"
# x86_64: the incoming image's steps, each when it ended (ns after the quiesce began).
for step in TSC adopted stay clock; do
    v=$(row "the incoming image's step '$step' done")
    [ -z "$v" ] || bench_result "$key.step_$step" "$v"
done
[ "$rc" -eq 0 ] || bench_fail "mailbox_e2e.py update_bench ended with status $rc"
if [ "$write_doc" = 1 ]; then
    doc=$(cd "$here/../docs" && pwd)/performance.md
    bench_doc_check "$doc" "bench:update-$e2e_arch"
    {
        echo "Written by \`bench/update_bench.sh --doc BUILD $rounds $e2e_arch\` ($(git -C "$here/.." describe --always --dirty 2>/dev/null || echo "no git"), $(date -u +%Y-%m-%d)), $rounds updates."
        echo
        grep '^|' "$out"
    } >"$bench_tmp/update-table.md"
    bench_doc_write "$doc" "bench:update-$e2e_arch" "$bench_tmp/update-table.md"
fi
