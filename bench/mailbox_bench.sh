#!/bin/sh
# Mailbox figures under QEMU icount (docs/performance.md, mailbox): boots the arm64 image
# with an ivshmem mailbox and `-icount shift=0,align=off,sleep=off`, times 3 session
# handshakes, ROUNDS authenticated PINGs and CONSOLE_WRITEs (goal: at most 100k
# instructions each), keelctl's wall time for 1,000 PINGs, and one VM's create/start to
# first output from the hypervisor's own counter
# (tests/emu/mailbox_e2e.py, scenario bench, which cleans up its emulator, /dev/shm file
# and work folder on every exit) and prints a markdown table. Exit status 1 when the
# driver reports FAIL; the PING figures it did get are still printed as results.
#   bench/mailbox_bench.sh BUILD_DIR [ROUNDS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
B=${1:?usage: mailbox_bench.sh BUILD_DIR [ROUNDS]}
rounds=${2:-10}
out=$bench_tmp/mailbox.out
rc=0
bench_mailbox_e2e "$B" "$out" "$rounds" 600 bench || rc=$?
cat "$out"
# | label | median | min | max |  ->  "median min max"
row() { grep -F "| $1 |" "$out" | head -n 1 | awk -F'|' '{gsub(/ /, "", $3); gsub(/ /, "", $4); gsub(/ /, "", $5); print $3, $4, $5}'; }
ping=$(row "PING round trip: pickup -> response published")
verify=$(row "of which session check (id, sequence, HMAC-SHA256)")
rest=$(row "rest (decode, dispatch, audit SHA-256 + MAC, response MAC)")
console=$(row "CONSOLE_WRITE round trip (VM stopped: BadState)")
handshake=$(row "handshake (HELLO): pickup -> response published")
bench_need "$ping" "'PING round trip' row" "$out"
bench_result mailbox.ping "$ping"
bench_result mailbox.verify "$verify"
bench_result mailbox.rest "$rest"
bench_result mailbox.console_write "$console"
bench_result mailbox.handshake "$handshake"
start=$(row "START pickup -> first guest console line" | awk '{print $1}')
case "$start" in
[0-9]*) bench_result mailbox.start_to_output "$start" ;;
esac
[ "$rc" -eq 0 ] || bench_fail "mailbox_e2e.py bench ended with status $rc (see its notes above)"
