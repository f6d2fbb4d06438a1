#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/) with address sanitizer and runs each for SECONDS (default 60) on its seed
# corpus: HygieFuzz (HygieCore parsers), SigmaFuzz (rules, conditions, events) and STIXFuzz (bundles, patterns,
# addresses, timestamps), VulnFuzz (CPE, versions, CVSS, nmap, SBOM, CSV, NVD, CVE, CSAF, OSV, KEV) and ComplianceFuzz
# (framework libraries, OSCAL documents, indicator bindings, dates) and AwarenessFuzz (message templates, target
# lists, .eml imports, landing pages, training modules, lesson Markdown) and TriageFuzz (MIME messages, Outlook .msg
# files, Authentication-Results, Received, addresses, links, punycode) and PrivacyFuzz (FHIR AuditEvents and
# Bundles, ATNA audit messages, HL7 v2 ADT and ACKs, MLLP framing, context CSV layouts) and FederationFuzz
# (snapshots, declaration copies, broadcast alerts and answers, product and indicator lines). A crash leaves its input in
# Fuzz/TARGET-crash-* (or under $FUZZ_ARTIFACTS), prints the report (stack, input in base64) and exits non-zero.
# `scripts/fuzz.sh 600 SigmaFuzz` runs one target.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds=${1:-60}
artifacts=${FUZZ_ARTIFACTS:-.}
mkdir -p "$artifacts"
targets=${2:-"HygieFuzz SigmaFuzz STIXFuzz VulnFuzz ComplianceFuzz AwarenessFuzz TriageFuzz PrivacyFuzz FederationFuzz"}
# SwiftPM's --sanitize=fuzzer alone leaves the libraries without coverage counters; ask for them explicitly.
build_log=$(mktemp)
if ! swift build --sanitize=fuzzer --sanitize=address \
    -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp >"$build_log" 2>&1; then
    grep -E "error|warning: |Killed|signal" "$build_log" | head -30
    tail -5 "$build_log"
    exit 1
fi
tail -1 "$build_log"
rm -f "$build_log"
status=0
for target in $targets; do
    corpus=corpus
    maxlen=512
    if [ "$target" = SigmaFuzz ]; then corpus=corpus-sigma; maxlen=2048; fi
    if [ "$target" = STIXFuzz ]; then corpus=corpus-stix; maxlen=4096; fi
    if [ "$target" = VulnFuzz ]; then corpus=corpus-vuln; maxlen=4096; fi
    if [ "$target" = ComplianceFuzz ]; then corpus=corpus-compliance; maxlen=4096; fi
    if [ "$target" = AwarenessFuzz ]; then corpus=corpus-awareness; maxlen=4096; fi
    if [ "$target" = TriageFuzz ]; then corpus=corpus-triage; maxlen=32768; fi
    if [ "$target" = PrivacyFuzz ]; then corpus=corpus-privacy; maxlen=4096; fi
    if [ "$target" = FederationFuzz ]; then corpus=corpus-federation; maxlen=4096; fi
    work=$(mktemp -d)
    cp "$corpus"/* "$work/"
    echo "$target:"
    result=0
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 .build/debug/"$target" -max_total_time="$seconds" -max_len="$maxlen" -timeout=20 -rss_limit_mb=4096 -detect_leaks=0 \
        -artifact_prefix="$artifacts/$target-" -print_final_stats=1 "$work" >"$work/log" 2>&1 || result=$?
    grep -E "DONE|stat::number_of_executed_units" "$work/log" || true
    if [ "$result" -ne 0 ]; then
        status=$result
        echo "$target failed (exit $result):"
        # From the first report line on: the runtime's message, the sanitizer's stack, the saved input.
        report=$(sed -n '/Fatal error\|Precondition failed\|Assertion failed\|Program crashed\|ERROR: \|ALARM: /,$p' "$work/log" | grep -vE "^#[0-9]+\s+(NEW|REDUCE|pulse)")
        if [ -n "$report" ]; then
            echo "$report" | grep -vE "Test unit written|^Base64:" | head -40
            echo "$report" | grep -E "Test unit written|^Base64:" | cut -c1-2000
        else
            tail -20 "$work/log"
        fi
    fi
    rm -rf "$work"
done
exit "$status"
