#!/usr/bin/env python3
"""Sustained ingestion benchmark: a bounded load generator on loopback against `hygie serve`.

Sets up a fresh data directory (demo establishment, one HTTP and one syslog source, a rule pack enabled), starts the
server, then sends events from a JSON-lines corpus at a fixed rate for a fixed time, through HTTP (NDJSON batches,
at most --inflight requests outstanding) or TCP syslog (RFC 6587 octet counting, JSON as message). It reports the
rate achieved, refusals, how long detection took to catch up, the ingest-to-alert latency histogram, and the
server's CPU and peak memory.

    scripts/bench-ingest.py BINARY CORPUS.jsonl --rules DIR [--transport http|tcp] [--rate 20000] [--seconds 60]
        [--postgres URL] [--batch 1000]
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "e2e"))
from hygie_client import Server, free_port, metrics  # noqa: E402

FINESS = "999000017"


def cli(binary, work, env, *args):
    return subprocess.run([binary, *args, "--data-dir", work], capture_output=True, text=True, env=env, timeout=900)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def percentile_from_histogram(m, name, q):
    buckets = sorted(
        (float(re.search(r'le="([^"]+)"', key).group(1).replace("+Inf", "inf")), value)
        for key, value in m.items() if key.startswith(name + "_bucket"))
    total = buckets[-1][1] if buckets else 0
    for bound, count in buckets:
        if total and count >= q * total:
            return bound
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("corpus")
    parser.add_argument("--rules", required=True, help="folder or zip of Sigma rules to import and enable")
    parser.add_argument("--transport", choices=["http", "tcp"], default="http")
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--inflight", type=int, default=4)
    parser.add_argument("--postgres")
    parser.add_argument("--fsync", default="always")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="hygie-bench-")
    env = dict(os.environ, HYGIE_SECURITY_BCRYPT_COST="4", HYGIE_LOG_LEVEL="warning", HYGIE_INGEST_FSYNC=args.fsync)
    if args.postgres:
        env["HYGIE_DATABASE_URL"] = args.postgres
        cli(args.binary, work, env, "migrate")
    cli(args.binary, work, env, "demo", "--no-events")
    created = cli(args.binary, work, env, "sources", "add", "-e", FINESS, "--name", "bench-http")
    token = re.search(r"Ingest token \(shown once\): (\S+)", created.stdout).group(1)
    cli(args.binary, work, env, "sources", "add", "-e", FINESS, "--name", "bench-tcp", "--kind", "syslog", "--sender", "127.0.0.1")
    imported = cli(args.binary, work, env, "rules", "import", args.rules, "-e", FINESS, "--shared", "--enable")
    print(imported.stdout.strip().splitlines()[0] if imported.stdout else imported.stderr[-500:])

    with open(args.corpus, "rb") as f:
        lines = [line.rstrip(b"\n") for line in f if line.strip()]
    tcp_port = free_port()
    env["HYGIE_SYSLOG_TCP"] = f"127.0.0.1:{tcp_port}"
    server = Server(args.binary, work, env=env).start(timeout=300)
    pid = server.proc.pid
    base = server.base
    # Warm-up: compile the rules before the clock starts (the first batch pays for it).
    request = urllib.request.Request(base + "/api/v1/ingest", data=lines[0] + b"\n", method="POST")
    request.add_header("Authorization", f"Bearer {token}")
    urllib.request.urlopen(request, timeout=120).read()
    time.sleep(2)
    start_events = metrics(base).get("hygie_detection_events_total", 0)

    sent = 0
    refused = 0
    lock = threading.Lock()
    slots = threading.Semaphore(args.inflight)
    cpu_start = cpu_seconds(pid)
    started = time.monotonic()
    stop_at = started + args.seconds
    cursor = 0

    def next_lines(count):
        nonlocal cursor
        chunk = []
        for _ in range(count):
            chunk.append(lines[cursor])
            cursor = (cursor + 1) % len(lines)
        return chunk

    def post(body, count):
        nonlocal sent, refused
        try:
            req = urllib.request.Request(base + "/api/v1/ingest", data=body, method="POST")
            req.add_header("Authorization", f"Bearer {token}")
            with urllib.request.urlopen(req, timeout=60) as response:
                ok = response.status == 202
        except Exception:
            ok = False
        with lock:
            if ok:
                sent += count
            else:
                refused += count
        slots.release()

    conn = socket.create_connection(("127.0.0.1", tcp_port)) if args.transport == "tcp" else None
    tick = args.batch / args.rate
    next_send = started
    while time.monotonic() < stop_at:
        chunk = next_lines(args.batch)
        if conn:
            frames = []
            for line in chunk:
                message = b"<14>1 - bench app - - - " + line
                frames.append(str(len(message)).encode() + b" " + message)
            conn.sendall(b"".join(frames))
            sent += len(chunk)
        else:
            body = b"\n".join(chunk) + b"\n"
            slots.acquire()
            threading.Thread(target=post, args=(body, len(chunk))).start()
        next_send += tick
        delay = next_send - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    for _ in range(args.inflight):
        slots.acquire()
    if conn:
        conn.close()
    send_seconds = time.monotonic() - started
    # Wait until detection has evaluated what was acknowledged.
    target = start_events + sent
    while metrics(base).get("hygie_detection_events_total", 0) < target and time.monotonic() - started < send_seconds + 600:
        time.sleep(0.2)
    total_seconds = time.monotonic() - started
    m = metrics(base)
    cpu = cpu_seconds(pid) - cpu_start
    result = {
        "engine": "postgres" if args.postgres else "sqlite", "transport": args.transport, "target_rate": args.rate,
        "sent": sent, "refused": refused, "send_seconds": round(send_seconds, 1),
        "ingest_rate": round(sent / send_seconds), "caught_up_after_s": round(total_seconds - send_seconds, 1),
        "evaluated": int(m.get("hygie_detection_events_total", 0) - start_events),
        "evaluation_rate": round((m.get("hygie_detection_events_total", 0) - start_events) / total_seconds),
        "alert_latency_p50_s": percentile_from_histogram(m, "hygie_detection_alert_latency_seconds", 0.5),
        "alert_latency_p99_s": percentile_from_histogram(m, "hygie_detection_alert_latency_seconds", 0.99),
        "matched_events": int(m.get("hygie_detection_alert_latency_seconds_count", 0)),
        "server_cpu_seconds": round(cpu, 1), "server_cpu_cores": round(cpu / total_seconds, 2),
        "server_peak_rss_mb": round(peak_rss_mb(pid)),
        "rejected": {k: v for k, v in m.items() if k.startswith("hygie_ingest_rejected_total")},
    }
    print(json.dumps(result))
    server.stop()


if __name__ == "__main__":
    main()
