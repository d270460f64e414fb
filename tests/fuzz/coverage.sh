#!/bin/sh
# Which lines of hypervisor/mailbox/ a fuzz corpus reaches: builds mailbox_fuzz with
# source-based coverage (KEEL_FUZZ_COVERAGE, a build folder of its own), replays every
# corpus input once (-runs=0: no fuzzing, no new inputs), and prints llvm-cov's per-file
# report for hypervisor/mailbox/ (docs/mailbox.md §9).
#   tests/fuzz/coverage.sh CORPUS_DIR [BUILD_DIR]     (default BUILD_DIR: build-fuzzcov)
set -eu
corpus=$1
build=${2:-build-fuzzcov}
src=$(cd "$(dirname "$0")/../.." && pwd)
[ -d "$corpus" ] || { echo "coverage.sh: no corpus folder $corpus" >&2; exit 2; }
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=Debug -DKEEL_BUILD_IMAGES=OFF -DKEEL_FUZZ_COVERAGE=ON >/dev/null
cmake --build "$build" --target mailbox_fuzz >/dev/null
profile=$build/mailbox_fuzz.profraw
rm -f "$profile"
LLVM_PROFILE_FILE=$profile "$build/mailbox_fuzz" -runs=0 -max_len=16384 "$corpus" 2>&1 |
    grep -E "INITED|DONE" || true
llvm-profdata merge -sparse -o "$build/mailbox_fuzz.profdata" "$profile"
llvm-cov report "$build/mailbox_fuzz" -instr-profile="$build/mailbox_fuzz.profdata" \
    "$src/hypervisor/mailbox/"
