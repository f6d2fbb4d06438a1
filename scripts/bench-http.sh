#!/usr/bin/env bash
# Measures HTTP throughput of `hygie serve` (release build, SQLite) on loopback with wrk: an authenticated page
# (/dashboard, session cookie of a demo staff member) and, as the same-session baseline, /health.
# Usage: scripts/bench-http.sh [RUNS] [SECONDS]   — prints each run and the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
seconds=${2:-15}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product hygie 2>&1 | tail -1
bin=.build/release/hygie
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
password=$("$bin" demo --data-dir "$work" 2>/dev/null | sed -nE 's/.*the password (\S+).*/\1/p')
HYGIE_LOG_LEVEL=warning "$bin" serve --data-dir "$work" --port "$port" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
cookie=$(python3 - "$port" "$password" <<'PY'
import sys
sys.path.insert(0, "Tests/e2e")
from hygie_client import Browser
b = Browser(f"http://127.0.0.1:{sys.argv[1]}")
token, _ = b.csrf("/login")
b.post("/login", {"_csrf": token, "email": "infirmiere.urgences@valbrune.example", "password": sys.argv[2]})
assert b.get("/dashboard").status == 200
print(b.cookie("hygie_session"))
PY
)
measure() {  # measure PATH [HEADER]
    local results=()
    for _ in $(seq "$runs"); do
        local rps
        rps=$(wrk -t2 -c16 -d"${seconds}s" ${2:+-H "$2"} "http://127.0.0.1:$port$1" | awk '/Requests\/sec/ {print $2}')
        echo "  $1: $rps req/s" >&2
        results+=("$rps")
    done
    printf '%s\n' "${results[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
page=$(measure /dashboard "Cookie: hygie_session=$cookie")
health=$(measure /health)
echo "median /dashboard (authenticated): $page req/s"
echo "median /health (baseline, no database): $health req/s"
python3 -c "print(f'ratio dashboard/health: {float($page)/float($health):.2f}')"
