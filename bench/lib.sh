# Shared by the bench scripts (sourced, POSIX sh): a private temp folder that goes away on
# every exit (normal end, a failed step under set -e, Ctrl-C, SIGTERM, SIGHUP), the child
# in flight stopped with it, and the checks that turn a missing result line into a clear
# failure. Each script prints its table for people and, last, `bench-result KEY VALUE`
# lines for bench/all.sh.
bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-bench.XXXXXX")
bench_child=
bench_cleanup() {
    if [ -n "$bench_child" ]; then
        kill "$bench_child" 2>/dev/null || true
        wait "$bench_child" 2>/dev/null || true
    fi
    rm -rf "$bench_tmp"
}
trap bench_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# bench_run CMD...: runs CMD in the background and waits for it, so a signal to the script
# ends the run at once (a foreground child would finish first). Returns CMD's status.
bench_run() {
    "$@" &
    bench_child=$!
    bench_rc=0
    wait "$bench_child" || bench_rc=$?
    bench_child=
    return "$bench_rc"
}

# bench_fail MESSAGE: the reason on stderr, exit 1.
bench_fail() {
    echo "bench: FAIL: $*" >&2
    exit 1
}

# bench_need VALUE WHAT LOG: fails, naming WHAT and showing LOG's tail, when VALUE is empty.
# bench_x86_ticks LOG NAME: the x86 test guest's "bench: NAME ... N ticks total" figure
# (tests/guest/x86_64/vm/bench.c), empty when the line is missing.
bench_x86_ticks() { grep "bench: $2" "$1" | sed -n 's/.* \([0-9]*\) ticks total.*/\1/p' | head -n 1; }

bench_need() {
    if [ -z "$1" ]; then
        echo "---- last lines of $3 ----" >&2
        tail -n 15 "$3" >&2 2>/dev/null || true
        echo "----" >&2
        bench_fail "no $2 (the log's last lines above)"
    fi
}

# bench_num PATTERN FILE: the first decimal number right after PATTERN in FILE.
bench_num() { sed -n "s/.*$1 \([0-9][0-9]*\).*/\1/p" "$2" | head -n 1; }

bench_result() { echo "bench-result $1 $2"; }

# bench_doc_check DOC TAG: fails unless DOC has the "<!-- TAG:begin -->" and "<!-- TAG:end -->"
# lines. bench_doc_write DOC TAG TABLE: replaces what stands between them with TABLE's text.
bench_doc_check() {
    grep -q "^<!-- $2:begin -->\$" "$1" && grep -q "^<!-- $2:end -->\$" "$1" ||
        bench_fail "$1 has no <!-- $2:begin --> / <!-- $2:end --> lines"
}
bench_doc_write() {
    awk -v t="$3" -v b="<!-- $2:begin -->" -v e="<!-- $2:end -->" '
        $0 == e { print ""; while ((getline l < t) > 0) print l; print ""; skip = 0 }
        !skip { print }
        $0 == b { skip = 1 }' "$1" >"$bench_tmp/doc.md"
    cat "$bench_tmp/doc.md" >"$1"
    echo "== wrote the table into $1"
}

# bench_mailbox_e2e BUILD OUT ROUNDS TIMEOUT ARGS...: tests/emu/mailbox_e2e.py under -icount
# with BUILD's product image, keelctl and test guest for $e2e_arch (arm64 unless set; x86_64:
# q35 with SVM) (fails when one is missing), its output into OUT; ARGS end with the
# scenario. Returns the driver's status.
bench_mailbox_e2e() {
    e2e_b=$1 e2e_out=$2 e2e_rounds=$3 e2e_timeout=$4
    shift 4
    e2e_image=$e2e_b/arm64/keel-arm64.bin e2e_guest=$e2e_b/arm64/keel-test-guest.bin
    if [ "${e2e_arch:-arm64}" = x86_64 ]; then
        e2e_image=$e2e_b/x86_64/keel-x86_64.bin e2e_guest=$e2e_b/x86_64/keel-x86-guest.bin
    fi
    for f in "$e2e_image" "$e2e_b/keelctl" "$e2e_guest"; do
        [ -f "$f" ] || bench_fail "missing $f (build: cmake --build --preset default)"
    done
    bench_run python3 "$here/../tests/emu/mailbox_e2e.py" --arch "${e2e_arch:-arm64}" --icount \
        --rounds "$e2e_rounds" --timeout "$e2e_timeout" --image "$e2e_image" \
        --keelctl "$e2e_b/keelctl" --guest "$e2e_guest" "$@" >"$e2e_out" 2>&1
}

# Run statistics for the boot benchmarks (lists of counts, one per run):
# stats LIST: "median min max".
stats() { echo "$1" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)], v[1], v[NR]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
# ratios KEEL_LIST BARE_LIST: "median ratio, least, most" (the extremes the runs allow:
# Keel's least over bare's most, and the reverse).
ratios() {
    s="$(stats "$1") $(stats "$2")"
    set -- $s # keel med min max, bare med min max
    echo "$(ratio "$1" "$4") $(ratio "$2" "$6") $(ratio "$3" "$5")"
}
# line LABEL "MED MIN MAX": one row of a boot benchmark's table.
line() {
    label=$1
    s=$2
    set -- $s
    printf '%-52s %12s %12s %12s\n' "$label" "$1" "$2" "$3"
}

# bench_initramfs GUEST_CPIO_GZ INIT OUT TOOL...: the guest initramfs repacked with INIT (a
# file) as /init and each TOOL as /bin/NAME.
bench_initramfs() {
    bi_rd=$bench_tmp/initramfs.$$
    mkdir "$bi_rd"
    (cd "$bi_rd" && gzip -dc "$1" | cpio -id --quiet)
    cp "$2" "$bi_rd/init"
    chmod 755 "$bi_rd/init"
    bi_out=$3
    shift 3
    for bi_tool in "$@"; do # sh has no local variables: names of their own, prefixed
        cp "$bi_tool" "$bi_rd/bin/$(basename "$bi_tool")"
    done
    (cd "$bi_rd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) >"$bi_out"
    rm -rf "$bi_rd"
}

# bench_marker_initramfs GUEST_CPIO_GZ TOOL OUT: the guest initramfs repacked with an /init
# that runs TOOL (as /bin/NAME: it prints the boot benchmark's marker) and powers off.
bench_marker_initramfs() {
    printf '#!/bin/sh\n/bin/%s\n/bin/busybox poweroff -f\n' "$(basename "$2")" >"$bench_tmp/marker-init"
    bench_initramfs "$1" "$bench_tmp/marker-init" "$3" "$2"
}
