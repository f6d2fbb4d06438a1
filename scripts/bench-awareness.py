#!/usr/bin/env python3
"""Awareness benchmarks (release build, SQLite, loopback): sending and tracking.

1. Sending: a campaign of 10,000 recipients launched through the GoPhish API; `hygie serve` sends them to an
   aiosmtpd sink at full speed (no rate); the figure is messages accepted by the sink per second, from launch to
   the last message. Same-session peer: Python's smtplib sending the same number of messages to the same sink over
   one connection (what the sink itself can take).
2. Tracking: wrk on the open pixel `/track?rid=` of a live campaign (every request is recorded), and on `/health`
   as the same-session baseline.

Usage: .venv-conformance/bin/python scripts/bench-awareness.py [--runs N] [--count N] [--seconds S]
Prints every run and the medians.
"""
import argparse
import json
import os
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "e2e"))
from hygie_client import Server, api, free_port  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402


class Counter:
    def __init__(self):
        self.count = 0
        self.last = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            self.last = time.monotonic()
        return "250 OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--binary", default=".build/release/hygie")
    args = ap.parse_args()
    shutil.which("wrk") or sys.exit("wrk is needed (apt-get install wrk)")
    work = tempfile.mkdtemp(prefix="hygie-bench-awareness-")
    env = {"HYGIE_LOG_LEVEL": "warning", "HYGIE_SECURITY_BCRYPT_COST": "4", "HYGIE_INGEST_ENABLED": "false"}
    full_env = dict(os.environ, **env)

    def hygie(*a, stdin=None):
        return subprocess.run([args.binary, *a, "--data-dir", os.path.join(work, "data")], capture_output=True,
                              text=True, env=full_env, input=stdin, check=True).stdout.strip()

    est = hygie("establishments", "add", "--name", "CH Banc d'essai")
    hygie("establishments", "add-member", "-e", est, "--email", "rssi@bench.example", "--name", "RSSI", "--role", "rssi",
          stdin="Bench-Password-2026!\n")
    key = hygie("token", "create", "-e", est, "--user", "rssi@bench.example", "--name", "bench")
    hygie("awareness", "programme", "-e", est, "--informed-on", "2026-01-01", "--approver", "DG")
    csv = os.path.join(work, "targets.csv")
    with open(csv, "w") as f:
        f.write("First Name,Last Name,Email,Position,Department\n")
        for i in range(args.count):
            f.write(f"Agent{i},Été,agent{i}@bench.example,IDE,Service {i % 20}\n")
    hygie("awareness", "import-group", "-e", est, "--name", "Tous", csv)
    sink = Counter()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    server = Server(args.binary, os.path.join(work, "data"), env=env).start()
    base = server.base
    call = lambda m, p, body=None: api(base, m, p, token=key, payload=body)  # noqa: E731
    call("POST", "/api/templates/", {"name": "T", "subject": "{{.FirstName}}, bulletin de paie",
                                     "text": "Bonjour {{.FirstName}}, {{.URL}}\n" + "x" * 2000,
                                     "html": "<p>Bonjour {{.FirstName}}</p><a href=\"{{.URL}}\">ici</a>{{.Tracker}}"})
    call("POST", "/api/pages/", {"name": "P", "html": "<form><input name=\"u\"></form>"})
    call("POST", "/api/smtp/", {"name": "S", "host": f"127.0.0.1:{controller.port}", "from_address": "it@bench.example"})
    sending = []
    rid = None
    try:
        for run in range(args.runs):
            before = sink.count
            start = time.monotonic()
            status, campaign = call("POST", "/api/campaigns/", {
                "name": f"bench-{run}", "groups": [{"name": "Tous"}], "template": {"name": "T"}, "page": {"name": "P"},
                "smtp": {"name": "S"}, "url": base})
            assert status == 201, campaign
            rid = rid or campaign["results"][0]["id"]
            while sink.count - before < args.count:
                time.sleep(0.05)
                if time.monotonic() - start > 600:
                    sys.exit(f"only {sink.count - before} messages after 600 s")
            rate = args.count / (sink.last - start)
            sending.append(rate)
            print(f"  send run {run + 1}: {args.count} messages in {sink.last - start:.1f} s = {rate:.0f}/s", flush=True)
        # Peer: the sink's own capacity, one smtplib connection.
        message = "Subject: x\r\n\r\n" + ("x" * 76 + "\r\n") * 27  # same size as the campaign text
        peer = []
        for run in range(args.runs):
            client = smtplib.SMTP("127.0.0.1", controller.port)
            start = time.monotonic()
            for i in range(2000):
                client.sendmail("it@bench.example", [f"agent{i}@bench.example"], message)
            elapsed = time.monotonic() - start
            client.quit()
            peer.append(2000 / elapsed)
            print(f"  smtplib run {run + 1}: {2000 / elapsed:.0f}/s", flush=True)

        served = {"track": 0}

        def wrk(path):
            out = subprocess.run(["wrk", "-t2", "-c32", f"-d{args.seconds}s", base + path], capture_output=True,
                                 text=True).stdout
            line = next(line for line in out.splitlines() if line.startswith("Requests/sec"))
            if path.startswith("/track"):
                served["track"] += int(next(l for l in out.splitlines() if " requests in " in l).split()[0])
            return float(line.split()[1])
        pixel, health = [], []
        for run in range(args.runs):
            pixel.append(wrk(f"/track?rid={rid}"))
            health.append(wrk("/health"))
            print(f"  wrk run {run + 1}: /track {pixel[-1]:.0f} req/s, /health {health[-1]:.0f} req/s", flush=True)
        time.sleep(2)
        # Every pixel request is an event: count them in the database (SQLite file of the data directory).
        import sqlite3
        database = sqlite3.connect(os.path.join(work, "data", "hygie.sqlite"))
        recorded = database.execute("SELECT COUNT(*) FROM aw_events WHERE message = 'Email Opened'").fetchone()[0]
        database.close()
        print(f"  pixel requests answered {served['track']}, open events recorded {recorded}", flush=True)
        print(json.dumps({
            "send_per_second_median": round(statistics.median(sending)),
            "smtplib_peer_per_second_median": round(statistics.median(peer)),
            "track_requests_per_second_median": round(statistics.median(pixel)),
            "health_requests_per_second_median": round(statistics.median(health)),
            "track_to_health_ratio": round(statistics.median(pixel) / statistics.median(health), 2),
            # wrk stops counting with requests still in flight (one per connection): those are recorded too.
            "every_answered_request_recorded": recorded >= served["track"],
        }, indent=1))
    finally:
        controller.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
