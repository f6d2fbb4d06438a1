#!/usr/bin/env bash
# Interoperability checks against a fresh Hygie, driven by third-party client libraries (../shared/conformance).
#
#   scripts/conformance.sh taxii|gophish [BINARY]
#
# taxii: starts `hygie serve` over HTTPS (self-signed certificate) on a free loopback port with a temporary data
# directory; creates, with Hygie's own CLI, an establishment, a partner TAXII account and four collections
# (read-write, read-only holding one indicator, write-only, listed without access); runs
# ../shared/conformance/taxii_conformance.py with every level of check; stops the server. Exits non-zero unless
# the check's last line reports 0 failed. The Python packages go to .venv-conformance.
#
# gophish: starts `hygie serve` over HTTP on a free loopback port with a temporary data directory; creates, with
# Hygie's own CLI, an establishment, an rssi member, an API token for them and the awareness programme (staff
# informed, approver: without them no campaign may launch); runs ../shared/conformance/gophish_client_check.py
# (the PyPI gophish client and an aiosmtpd sink); stops the server. Exits non-zero unless the last line reports
# 0 failed.
set -uo pipefail
cd "$(dirname "$0")/.."
suite=${1:-taxii}
binary=${2:-.build/debug/hygie}
shared=../shared/conformance
case "$suite" in taxii | gophish) ;; *) echo "unknown suite $suite (taxii, gophish)"; exit 2 ;; esac
[ -x "$binary" ] || { echo "no binary at $binary: run swift build first"; exit 2; }

if [ ! -x .venv-conformance/bin/python ] || ! .venv-conformance/bin/python -c 'import taxii2client, stix2, stix2validator, gophish, aiosmtpd' 2>/dev/null; then
    python3 -m venv .venv-conformance && .venv-conformance/bin/pip install -q -r "$shared/requirements.txt" || exit 1
fi

work=$(mktemp -d /tmp/hygie-conformance-XXXXXX)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
export HYGIE_LOG_LEVEL=warning HYGIE_INGEST_ENABLED=false HYGIE_JOBS_WORKERS=0
hygie() { "$binary" "$@" --data-dir "$work/data"; }

wait_ready() {  # wait_ready URL
    for _ in $(seq 1 100); do
        curl -ksf "$1/health/ready" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "hygie serve did not start:"
    tail -20 "$work/serve.log"
    return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
finish() {  # the check's last line must say 0 failed
    if ! tail -1 "$work/result.log" | grep -qE "^[0-9]+ passed, 0 failed"; then
        echo "server log (last lines):"
        tail -20 "$work/serve.log"
        exit 1
    fi
    exit 0
}

if [ "$suite" = gophish ]; then
    est=$(hygie establishments add --name "CH Conformité GoPhish" --finess 999000033) || exit 1
    echo "Conformance-Check-2026!" | hygie establishments add-member -e "$est" --email rssi@conformance.test \
        --name "RSSI conformité" --role rssi >/dev/null || exit 1
    key=$(hygie token create -e "$est" --user rssi@conformance.test --name "gophish client check") || exit 1
    hygie awareness programme -e "$est" --informed-on 2026-01-05 --representatives-on 2025-12-10 \
        --approver "Directrice générale (conformance)" >/dev/null || exit 1
    port=$(free_port)
    "$binary" serve --data-dir "$work/data" --host 127.0.0.1 --port "$port" >"$work/serve.log" 2>&1 &
    server_pid=$!
    wait_ready "http://127.0.0.1:$port" || exit 1
    .venv-conformance/bin/python "$shared/gophish_client_check.py" "http://127.0.0.1:$port" "$key" --timeout 60 \
        2>&1 | tee "$work/result.log"
    finish
fi

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || { echo "openssl failed"; exit 1; }

est=$(hygie establishments add --name "CH Conformité TAXII" --finess 999000025) || exit 1
secret=$(hygie intel create-account -e "$est" --username taxii-check --organisation "Conformance partner" --max-tlp amber --quiet) || exit 1
collection() {  # collection TITLE GRANT-FLAGS...
    local id
    id=$(hygie intel create-collection -e "$est" --title "$1" --tlp amber) || return 1
    shift
    hygie intel grant -e "$est" --collection "$id" --account taxii-check "$@" >/dev/null || return 1
    echo "$id"
}
rw=$(collection "Read-write (disposable)" --read --write) || exit 1
ro=$(collection "Read-only" --read) || exit 1
wo=$(collection "Write-only" --write) || exit 1
none=$(collection "Listed without access") || exit 1
ro_object=indicator--5c9d2b1a-7f0e-4c3b-9a8d-6e5f4a3b2c1d
cat >"$work/ro.json" <<EOF
{"type": "bundle", "id": "bundle--0d0f3a52-2b8e-4d4e-9a3a-0b9f5c1e7a21", "objects": [
 {"type": "indicator", "spec_version": "2.1", "id": "$ro_object", "created": "2026-01-05T08:00:00.000Z",
  "modified": "2026-01-05T08:00:00.000Z", "name": "Known ransomware C2", "indicator_types": ["malicious-activity"],
  "pattern": "[ipv4-addr:value = '203.0.113.66']", "pattern_type": "stix", "valid_from": "2026-01-05T08:00:00Z",
  "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}]}
EOF
hygie intel import -e "$est" --collection "$ro" "$work/ro.json" >/dev/null || exit 1

port=$(free_port)
HYGIE_TLS_CERTIFICATE="$work/cert.pem" HYGIE_TLS_KEY="$work/key.pem" \
    "$binary" serve --data-dir "$work/data" --host 127.0.0.1 --port "$port" >"$work/serve.log" 2>&1 &
server_pid=$!
wait_ready "https://127.0.0.1:$port" || exit 1

# The client verifies the server against the certificate made above (requests reads REQUESTS_CA_BUNDLE).
REQUESTS_CA_BUNDLE="$work/cert.pem" .venv-conformance/bin/python "$shared/taxii_conformance.py" \
    --url "https://127.0.0.1:$port/taxii2/" \
    --user taxii-check --password "$secret" --rw "$rw" --ro "$ro" --ro-object "$ro_object" --wo "$wo" --none "$none" \
    2>&1 | tee "$work/result.log"
finish
