#!/usr/bin/env python3
"""Hub benchmark: a release `hygie serve` on PostgreSQL as a national hub, filled by `hygie hub simulate` with
3,000 establishments (enrolment and a year of daily snapshots, then today's pushes and the answers to a broadcast
sent over HTTP to the running hub, signed), then the coordinator's dashboards measured with wrk: p95 latency
(wrk's latency distribution, through a Lua `done` hook) and requests per second, medians over --runs runs, with
/health (no database) as the same-session baseline.

usage: scripts/bench-hub.py .build/release/hygie --postgres URL [--establishments 3000] [--days 365] [--runs 3]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "e2e"))
from hygie_client import Browser, Server, free_port, totp  # noqa: E402

LUA = """
done = function(summary, latency, requests)
  io.write(string.format("P95_MS %.1f\\n", latency:percentile(95) / 1000))
  io.write(string.format("P50_MS %.1f\\n", latency:percentile(50) / 1000))
  io.write(string.format("RPS %.1f\\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("ERRORS %d\\n", summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--establishments", type=int, default=3000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=4)
    options = parser.parse_args()

    work = tempfile.mkdtemp(prefix="hygie-bench-hub-")
    database = "hygie_bench_hub"
    for statement in [f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", f"CREATE DATABASE {database}"]:
        subprocess.run(["psql", options.postgres, "-qc", statement], check=True, capture_output=True)
    env = dict(os.environ, HYGIE_DATABASE_URL=options.postgres.rsplit("/", 1)[0] + "/" + database,
               HYGIE_DATABASE_AUTO_MIGRATE="true", HYGIE_SECURITY_BCRYPT_COST="4", HYGIE_LOG_LEVEL="warning")

    def hygie(*args, stdin=None):
        result = subprocess.run([options.binary, *args, "--data-dir", work], capture_output=True, text=True, env=env,
                                input=stdin)
        if result.returncode != 0:
            sys.exit(f"hygie {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout.strip()

    agency = hygie("establishments", "add", "--name", "CERT Santé (national)", "--kind", "authority")
    password = "Bench-Hub-2026-Tableaux!"
    hygie("establishments", "add-member", "-e", agency, "--email", "coordination@cert.example", "--name",
          "Coordination", "--role", "coordinator", stdin=password + "\n")
    token = hygie("token", "create", "-e", agency, "--user", "coordination@cert.example", "--name", "bench")
    port = free_port()
    server = Server(options.binary, work, env={k: env[k] for k in env if k.startswith("HYGIE_")}, port=port).start()
    try:
        started = time.monotonic()
        report = json.loads(hygie("hub", "simulate", "-e", agency, "--establishments", str(options.establishments),
                                  "--days", str(options.days), "--hub", server.base))
        report["total_seconds"] = round(time.monotonic() - started, 1)
        print("simulation:", json.dumps(report))
        print(f"  pushes over HTTP: {report['pushes'] / report['push_seconds']:.0f}/s, "
              f"answers: {report['answers'] / report['answer_seconds']:.0f}/s, "
              f"history: {report['history_snapshots'] / report['history_seconds']:.0f} snapshots/s")
        size = subprocess.run(["psql", env["HYGIE_DATABASE_URL"], "-Atc",
                               "SELECT pg_size_pretty(pg_database_size(current_database())), "
                               "(SELECT COUNT(*) FROM fed_snapshots), (SELECT COUNT(*) FROM fed_rollups)"],
                              capture_output=True, text=True).stdout.strip()
        print("database size, snapshots, rollup rows:", size)

        browser = Browser(server.base)
        csrf, _ = browser.csrf("/login")
        browser.post("/login", {"_csrf": csrf, "email": "coordination@cert.example", "password": password})
        page = browser.get("/mfa/enrol")
        secret = re.search(r'<code id="secret" class="secret">([A-Z2-7 ]+)</code>', page.text).group(1)
        csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
        browser.post("/mfa/enrol", {"_csrf": csrf, "code": totp(secret.replace(" ", ""))})
        assert browser.get("/hub").status == 200, "the coordinator cannot open /hub"
        cookie = "Cookie: hygie_session=" + browser.cookie("hygie_session")
        bearer = "Authorization: Bearer " + token
        broadcast = report["broadcast_id"].lower() if report.get("broadcast_id") else ""
        lua = os.path.join(work, "p95.lua")
        with open(lua, "w") as handle:
            handle.write(LUA)
        targets = [
            ("/hub (HTML: figures, bands, alerts, 50 members with heat map, inbox)", "/hub", cookie),
            ("/hub?page=40 (a later page of members)", "/hub?page=40", cookie),
            ("/hub/broadcasts/{id} (counts, 200 answers listed)", f"/hub/broadcasts/{broadcast.upper()}", cookie),
            ("/hub/broadcasts/{id}/map.svg (one tile per member)", f"/hub/broadcasts/{broadcast.upper()}/map.svg",
             cookie),
            ("/hub/trends.svg", "/hub/trends.svg", cookie),
            ("/api/v1/hub/overview", "/api/v1/hub/overview", bearer),
            ("/api/v1/hub/members?limit=100", "/api/v1/hub/members?limit=100", bearer),
            ("/api/v1/hub/broadcasts", "/api/v1/hub/broadcasts", bearer),
            ("/health (baseline, no database)", "/health", None),
        ]
        for label, path, header in targets:
            p95s, rates = [], []
            for _ in range(options.runs):
                command = ["wrk", "-t2", f"-c{options.connections}", f"-d{options.seconds}s", "-s", lua]
                if header:
                    command += ["-H", header]
                out = subprocess.run(command + [server.base + path], capture_output=True, text=True).stdout
                values = dict(re.findall(r"^(P95_MS|P50_MS|RPS|ERRORS) ([\d.]+)$", out, re.M))
                if float(values.get("ERRORS", 1)) > 0:
                    sys.exit(f"{path}: errors during the run:\n{out}")
                p95s.append(float(values["P95_MS"]))
                rates.append(float(values["RPS"]))
            print(f"{label}: p95 {statistics.median(p95s):.0f} ms (runs {', '.join(f'{v:.0f}' for v in p95s)}), "
                  f"{statistics.median(rates):.0f} req/s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
