#!/bin/sh
# Live update figures under QEMU icount (docs/handover.md §4, docs/performance.md): boots the
# arm64 image with an ivshmem mailbox and `-icount shift=0,align=off,sleep=off`, starts two
# test guests, and runs ROUNDS UPDATE Applies of a freshly signed keel.img
# (tests/emu/mailbox_e2e.py, scenario update_bench): the instructions from the quiesce request
# to the last vCPU back in its guest under the new image (the record written and checked, the
# jump, adoption, every core moved over: docs/handover.md §4), as the new image measures it
# and as the guests saw it (keel.guest=gaps: the gap of each guest's virtual counter that
# spans the quiesce), the record's size, and Keel's own work for a whole update step by step
# (the chunks' copies, Verify, placing, the blackout, the commit: its "update: timing:"
# lines) and their total. Prints a markdown table, then bench-result lines.
#   bench/update_bench.sh BUILD_DIR [ROUNDS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
B=${1:?usage: update_bench.sh BUILD_DIR [ROUNDS]}
rounds=${2:-10}
for f in "$B/arm64/keel-arm64.elf" "$B/keel-sign" "$B/keys/dev-signing.pem"; do
    [ -f "$f" ] || bench_fail "missing $f (build: cmake --build --preset default)"
done
out=$bench_tmp/update.out
rc=0
bench_mailbox_e2e "$B" "$out" "$rounds" 900 --keel-sign "$B/keel-sign" \
    --elf "$B/arm64/keel-arm64.elf" --sign-key "$B/keys/dev-signing.pem" update_bench || rc=$?
cat "$out"
row() { grep -F "| $1" "$out" | head -n 1 | awk -F'|' '{gsub(/ /, "", $3); gsub(/ /, "", $4); gsub(/ /, "", $5); print $3, $4, $5}'; }
apply=$(row "Apply: quiesce request -> every vCPU back in its guest")
bench_need "$apply" "'Apply' row" "$out"
bench_result update.quiesce_to_resume "$apply"
bench_result update.record_bytes "$(row "handover record bytes" | awk '{print $1}')"
seen=$(row "guest-observed blackout")
bench_need "$seen" "'guest-observed blackout' row" "$out"
bench_result update.guest_gap "$seen"
total=$(row "total: Keel's work for one update")
bench_need "$total" "'total' row" "$out"
bench_result update.total "$total"
bench_result update.verify "$(row "Verify: signature")"
[ "$rc" -eq 0 ] || bench_fail "mailbox_e2e.py update_bench ended with status $rc"
