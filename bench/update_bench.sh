#!/bin/sh
# Live update figures under QEMU icount (docs/handover.md §4, docs/performance.md): boots the
# arm64 image with an ivshmem mailbox and `-icount shift=0,align=off,sleep=off`, starts two
# test guests, and runs ROUNDS UPDATE Applies of a freshly signed keel.img
# (tests/emu/mailbox_e2e.py, scenario update_bench): the hypervisor's instructions from the
# quiesce request to every vCPU let go again (the handover record written and checked in
# between, then the jump into the new image, which checks the record and hands back since it
# cannot adopt yet: docs/handover.md §4), and the record's size. Prints a
# markdown table, then bench-result lines.
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
[ "$rc" -eq 0 ] || bench_fail "mailbox_e2e.py update_bench ended with status $rc"
