#!/usr/bin/env bash
# Runs every Hygie test: build, format lint, unit + integration on SQLite, the same suite on a private
# PostgreSQL, end-to-end scenarios against the real binary on both engines, and the browser test.
# Installs what it needs (Debian: postgresql, chromium, chromium-driver, zbar-tools, poppler-utils, zlib1g-dev, openssl,
# curl, postfix (a private instance on loopback, scripts/postfix.sh); PyPI: selenium, stix2-matcher and compliance-trestle in .venv, the conformance clients in .venv-conformance).
# The Sigma regression tests read ../shared/data/sigma, the compliance tests ../shared/data/frameworks.
# Ends with "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/test-output"
rm -rf "$out" && mkdir -p "$out"
total_passed=0
total_failed=0
failures=()

log() { printf '\n== %s\n' "$*"; }
count() {  # count NAME PASSED FAILED
    total_passed=$((total_passed + $2))
    total_failed=$((total_failed + $3))
    [ "$3" -gt 0 ] && failures+=("$1")
    return 0
}

log "Dependencies"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v postfix >/dev/null 2>&1 || missing+=(postfix)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import selenium, stix2matcher, trestle' 2>/dev/null; then
    python3 -m venv .venv && .venv/bin/pip install -q -r Tests/e2e/requirements.txt
fi

log "Build"
start=$(date +%s)
if ! swift build --build-tests 2>&1 | tail -5; then :; fi
if [ ! -x .build/debug/hygie ]; then
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "build took $(( $(date +%s) - start )) s"

log "Format (swift format lint --strict)"
if swift format lint --strict --recursive Sources Tests Package.swift Benchmarks/Benchmarks Benchmarks/Package.swift Fuzz/Sources Fuzz/Package.swift 2>&1 | tee "$out/format.log" | head -20 && [ ! -s "$out/format.log" ]; then
    count format 1 0
else
    count format 0 1
fi

swift_tests() {  # swift_tests NAME [ENV...]
    local name=$1
    shift
    env "$@" swift test --skip-build 2>&1 | tee "$out/swift-test-$name.log" | grep -E "✘|Test run" || true
    local summary ran failed
    summary=$(grep -E "Test run with [0-9]+ tests" "$out/swift-test-$name.log" | tail -1)
    ran=$(echo "$summary" | sed -E 's/.*with ([0-9]+) tests.*/\1/')
    failed=$(grep -cE "^✘ Test .* failed" "$out/swift-test-$name.log" || true)
    if [ -z "$summary" ]; then ran=0; failed=1; fi
    count "swift test ($name)" $((ran - failed)) "$failed"
}

log "Fuzzing the pure parsers and the Sigma engine (libFuzzer, 30 s each)"
if FUZZ_ARTIFACTS="$out/fuzz" scripts/fuzz.sh 30 2>&1 | tee "$out/fuzz.log"; then count fuzz 1 0; else count fuzz 0 1; fi

log "Unit and integration tests on SQLite"
swift_tests sqlite

log "PostgreSQL"
read -r pgdir pgurl < <(scripts/postgres.sh)
trap 'scripts/postgres.sh stop "$pgdir"' EXIT
echo "private cluster at ${pgurl%%@*}@… ($pgdir)"

log "Integration tests on PostgreSQL"
swift_tests postgres HYGIE_TEST_POSTGRES_URL="$pgurl"

e2e() {  # e2e NAME COMMAND...
    local name=$1
    shift
    "$@" 2>&1 | tee "$out/e2e-$name.log" | grep -vE "^ok " || true
    local line
    line=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$out/e2e-$name.log" | tail -1)
    if [ -z "$line" ]; then count "e2e $name" 0 1; return; fi
    count "e2e $name" "$(echo "$line" | cut -d' ' -f1)" "$(echo "$line" | cut -d' ' -f3)"
}

log "End-to-end: hygie hunt"
e2e hunt python3 Tests/e2e/e2e_hunt.py .build/debug/hygie

log "End-to-end on SQLite"
e2e sqlite python3 Tests/e2e/e2e_foundation.py .build/debug/hygie

log "End-to-end on PostgreSQL"
psql "$pgurl" -qc "CREATE DATABASE hygie_e2e" >/dev/null
e2e postgres python3 Tests/e2e/e2e_foundation.py .build/debug/hygie --postgres "${pgurl%/postgres}/hygie_e2e"

log "End-to-end detection on SQLite (crash, malformed input, spool quota, notifications, TLS)"
e2e detection-sqlite python3 Tests/e2e/e2e_detection.py .build/debug/hygie

log "End-to-end detection on PostgreSQL (same, plus two nodes)"
e2e detection-postgres python3 Tests/e2e/e2e_detection.py .build/debug/hygie --postgres "$pgurl"

log "STIX patterns: Hygie's evaluator against the OASIS stix2-matcher"
e2e patterns .venv/bin/python Tests/e2e/e2e_patterns.py .build/debug/hygie

log "TAXII 2.1 conformance (OASIS taxii2-client, stix2, stix2-validator) against a fresh Hygie over HTTPS"
e2e taxii-conformance scripts/conformance.sh taxii .build/debug/hygie

log "GoPhish client conformance (PyPI gophish 0.5.1, aiosmtpd sink) against a fresh Hygie"
e2e gophish-conformance scripts/conformance.sh gophish .build/debug/hygie

log "End-to-end awareness on SQLite (SMTP: aiosmtpd with STARTTLS/AUTH, implicit TLS, 4xx/5xx, and Postfix; tracking, CLI, training)"
e2e awareness-sqlite .venv-conformance/bin/python Tests/e2e/e2e_awareness.py .build/debug/hygie --postfix

log "End-to-end awareness on PostgreSQL"
e2e awareness-postgres .venv-conformance/bin/python Tests/e2e/e2e_awareness.py .build/debug/hygie --postgres "$pgurl"

log "End-to-end staff reports on SQLite (SMTP report receiver, triage, clusters, verdicts mailed back, API, CLI)"
e2e reports-sqlite .venv-conformance/bin/python Tests/e2e/e2e_reports.py .build/debug/hygie

log "End-to-end staff reports on PostgreSQL"
e2e reports-postgres .venv-conformance/bin/python Tests/e2e/e2e_reports.py .build/debug/hygie --postgres "$pgurl"

log "End-to-end EHR access monitoring on SQLite (command-line contract, accuracy from labels, FHIR, MLLP, ATNA, DPO review)"
e2e privacy-sqlite python3 Tests/e2e/e2e_privacy.py .build/debug/hygie

log "End-to-end EHR access monitoring on PostgreSQL"
e2e privacy-postgres python3 Tests/e2e/e2e_privacy.py .build/debug/hygie --postgres "$pgurl"

log "End-to-end federation (a hub and two establishment instances, one on PostgreSQL; cut connections, revocation)"
e2e federation python3 Tests/e2e/e2e_federation.py .build/debug/hygie --postgres "$pgurl"

log "End-to-end threat intelligence on SQLite (hub and hospital, feeds, IOC alerts, sightings, stix2-validator)"
e2e intel-sqlite python3 Tests/e2e/e2e_intel.py .build/debug/hygie --python .venv-conformance/bin/python

log "End-to-end threat intelligence on PostgreSQL"
e2e intel-postgres python3 Tests/e2e/e2e_intel.py .build/debug/hygie --python .venv-conformance/bin/python --postgres "$pgurl"

log "End-to-end vulnerabilities on SQLite (command-line contract, imports, inventory, matching, remediation)"
e2e vuln-sqlite python3 Tests/e2e/e2e_vuln.py .build/debug/hygie

log "End-to-end vulnerabilities on PostgreSQL"
e2e vuln-postgres python3 Tests/e2e/e2e_vuln.py .build/debug/hygie --postgres "$pgurl"

log "End-to-end compliance on SQLite (every framework file, CaRE D2 self-assessment, OSCAL validated by compliance-trestle, PDF to PNG)"
e2e compliance-sqlite python3 Tests/e2e/e2e_compliance.py .build/debug/hygie --python .venv/bin/python --shots "$out/screenshots"

log "End-to-end compliance on PostgreSQL"
e2e compliance-postgres python3 Tests/e2e/e2e_compliance.py .build/debug/hygie --python .venv/bin/python --postgres "$pgurl" --shots "$out/screenshots"

log "Browser (headless Chromium)"
e2e browser .venv/bin/python Tests/e2e/browser_login.py .build/debug/hygie "$out/screenshots"
echo "screenshots in $out/screenshots"

log "Summary"
# CI shows only the end of this output: repeat what a failed fuzz run found (its report and the input in base64).
if [[ " ${failures[*]} " == *" fuzz "* ]]; then
    echo "fuzz report:"
    grep -vE "DONE|stat::number_of_executed_units" "$out/fuzz.log" | tail -60
fi
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
