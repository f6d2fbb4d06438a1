#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/) with address sanitizer and runs each for SECONDS (default 60) on its seed
# corpus: HygieFuzz (HygieCore parsers), SigmaFuzz (rules, conditions, events) and STIXFuzz (bundles, patterns,
# addresses, timestamps), VulnFuzz (CPE, versions, CVSS, nmap, SBOM, CSV, NVD, CVE, CSAF, OSV, KEV) and ComplianceFuzz
# (framework libraries, OSCAL documents, indicator bindings, dates) and AwarenessFuzz (message templates, target
# lists, .eml imports, landing pages, training modules, lesson Markdown) and TriageFuzz (MIME messages, Outlook .msg
# files, Authentication-Results, Received, addresses, links, punycode) and PrivacyFuzz (FHIR AuditEvents and
# Bundles, ATNA audit messages, HL7 v2 ADT and ACKs, MLLP framing, context CSV layouts) and FederationFuzz
# (snapshots, declaration copies, broadcast alerts and answers, product and indicator lines). A crash leaves its input in
# Fuzz/crash-* and exits non-zero. `scripts/fuzz.sh 600 SigmaFuzz` runs one target.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds=${1:-60}
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
    ASAN_OPTIONS=detect_leaks=0 .build/debug/"$target" -max_total_time="$seconds" -max_len="$maxlen" -timeout=20 -rss_limit_mb=4096 -detect_leaks=0 \
        -print_final_stats=1 "$work" >"$work/log" 2>&1 || status=$?
    grep -E "DONE|stat::number_of_executed_units|ERROR|SUMMARY|Test unit written" "$work/log" || true
    rm -rf "$work"
done
exit "$status"
