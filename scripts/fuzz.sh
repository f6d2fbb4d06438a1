#!/usr/bin/env bash
# Builds the libFuzzer target (Fuzz/) with address sanitizer and runs it for SECONDS (default 60) on the seed
# corpus. A crash leaves its input in Fuzz/crash-* and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds=${1:-60}
# SwiftPM's --sanitize=fuzzer alone leaves the libraries without coverage counters; ask for them explicitly.
swift build --sanitize=fuzzer --sanitize=address \
    -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp 2>&1 | tail -1
work=$(mktemp -d)
cp corpus/* "$work/"
status=0
.build/debug/HygieFuzz -max_total_time="$seconds" -max_len=512 -print_final_stats=1 "$work" >"$work/log" 2>&1 || status=$?
grep -E "DONE|stat::number_of_executed_units|ERROR|SUMMARY|Test unit written" "$work/log" || true
rm -rf "$work"
exit "$status"
