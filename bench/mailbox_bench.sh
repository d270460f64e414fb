#!/bin/sh
# Mailbox figures under QEMU icount (docs/performance.md, mailbox section): boots the
# arm64 image with an ivshmem mailbox and `-icount shift=0,align=off,sleep=off`, times
# ROUNDS signed PINGs and one VM's create/start to first output from the hypervisor's
# own counter, and prints a markdown table.
#   bench/mailbox_bench.sh BUILD_DIR [ROUNDS]
set -eu
B=${1:?usage: mailbox_bench.sh BUILD_DIR [ROUNDS]}
exec python3 "$(dirname "$0")/../tests/emu/mailbox_e2e.py" --icount --rounds "${2:-10}" --timeout 600 \
  --image "$B/arm64/keel-arm64.bin" --keelctl "$B/keelctl" --guest "$B/arm64/keel-test-guest.bin" bench
