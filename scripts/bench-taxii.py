#!/usr/bin/env python3
"""TAXII 2.1 server benchmark: Hygie against medallion (the OASIS reference server) on loopback, same data and load.

  scripts/bench-taxii.py hygie --objects 1000000 [--postgres URL] [--binary .build/release/hygie]
  scripts/bench-taxii.py medallion --objects 10000 --medallion /path/to/venv/bin/medallion

Ingest: valid STIX 2.1 indicators posted in envelopes of 100 (one client, one request at a time, as a TAXII
client does), rate reported per block of objects. Reads: `GET objects/?limit=100` with wrk (2 threads,
8 connections, 10 s) at checkpoints; requests/s and latency percentiles. Prints one line per measurement.
Only loopback is contacted.
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

TAXII = "application/taxii+json;version=2.1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, headers, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start")


def indicator(n, run):
    return ('{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":"2026-11-01T00:00:00.000Z",'
            '"modified":"2026-11-01T00:00:00.000Z","name":"Bench IOC %d","indicator_types":["malicious-activity"],'
            '"pattern":"[ipv4-addr:value = \'%d.%d.%d.%d\']","pattern_type":"stix","valid_from":"2026-11-01T00:00:00Z",'
            '"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}'
            % (uuid.UUID(int=(run << 64) | n, version=4), n, 45 + (n >> 24) % 50, (n >> 16) & 255, (n >> 8) & 255, n & 255))


class Target:
    def __init__(self, args):
        self.args = args
        self.port = free_port()
        self.work = args.keep or tempfile.mkdtemp(prefix=f"bench-taxii-{args.target}-")
        os.makedirs(self.work, exist_ok=True)
        self.proc = None

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


class Hygie(Target):
    def start(self):
        binary = self.args.binary
        env = dict(os.environ, HYGIE_LOG_LEVEL="warning", HYGIE_INGEST_ENABLED="false", HYGIE_JOBS_WORKERS="0",
                   HYGIE_SECURITY_BCRYPT_COST="4")
        if self.args.postgres:
            name = "hygie_bench_taxii"
            subprocess.run(["psql", self.args.postgres, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
            subprocess.run(["psql", self.args.postgres, "-qc", f"CREATE DATABASE {name}"], check=True)
            env["HYGIE_DATABASE_URL"] = self.args.postgres.rsplit("/", 1)[0] + "/" + name

        def cli(*a):
            return subprocess.run([binary, *a, "--data-dir", self.work], env=env, check=True, capture_output=True,
                                  text=True).stdout.strip()
        if self.args.postgres:
            cli("migrate")
        est = cli("establishments", "add", "--name", "Bench", "--kind", "ch")
        secret = cli("intel", "create-account", "-e", est, "--username", "bench", "--organisation", "Bench", "--quiet")
        collection = cli("intel", "create-collection", "-e", est, "--title", "Bench", "--tlp", "green")
        cli("intel", "grant", "-e", est, "--collection", collection, "--account", "bench", "--read", "--write")
        self.auth = "Basic " + base64.b64encode(f"bench:{secret}".encode()).decode()
        self.objects = f"/taxii2/{est}/collections/{collection}/objects/"
        self.proc = subprocess.Popen([binary, "serve", "--data-dir", self.work, "--port", str(self.port)], env=env,
                                     stdout=open(os.path.join(self.work, "serve.log"), "ab"), stderr=subprocess.STDOUT)
        wait_ready(f"http://127.0.0.1:{self.port}/taxii2/", {"Accept": TAXII, "Authorization": self.auth})


class Medallion(Target):
    def start(self):
        collection = str(uuid.uuid4())
        data = {
            "/discovery": {"title": "bench", "default": f"http://127.0.0.1:{self.port}/api1/",
                           "api_roots": [f"http://127.0.0.1:{self.port}/api1/"]},
            "api1": {"information": {"title": "api1", "versions": [TAXII], "max_content_length": 104857600},
                     "status": [],
                     "collections": [{"id": collection, "title": "Bench", "can_read": True, "can_write": True,
                                      "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}]},
        }
        with open(os.path.join(self.work, "data.json"), "w") as f:
            json.dump(data, f)
        config = {"backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": os.path.join(self.work, "data.json")},
                  "users": {"bench": "bench-pass"}, "taxii": {"max_page_size": 100}}
        with open(os.path.join(self.work, "config.json"), "w") as f:
            json.dump(config, f)
        self.auth = "Basic " + base64.b64encode(b"bench:bench-pass").decode()
        self.objects = f"/api1/collections/{collection}/objects/"
        self.proc = subprocess.Popen([self.args.medallion, "--port", str(self.port), os.path.join(self.work, "config.json")],
                                     stdout=open(os.path.join(self.work, "medallion.log"), "ab"), stderr=subprocess.STDOUT)
        wait_ready(f"http://127.0.0.1:{self.port}/taxii2/", {"Accept": TAXII, "Authorization": self.auth})


def ingest(target, start, count, run):
    """Posts `count` objects in envelopes of 100; returns objects per second."""
    connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=600)
    headers = {"Accept": TAXII, "Content-Type": TAXII, "Authorization": target.auth}
    began = time.perf_counter()
    n = start
    while n < start + count:
        size = min(100, start + count - n)
        body = '{"objects":[' + ",".join(indicator(i, run) for i in range(n, n + size)) + "]}"
        connection.request("POST", target.objects, body=body.encode(), headers=headers)
        response = connection.getresponse()
        text = response.read()
        if response.status != 202:
            raise RuntimeError(f"POST answered {response.status}: {text[:200]}")
        status = json.loads(text)
        if status.get("failure_count", 0) or status.get("success_count", size) != size:
            raise RuntimeError(f"objects refused: {text[:300]}")
        n += size
    connection.close()
    return count / (time.perf_counter() - began)


def reads(target, seconds):
    script = os.path.join(target.work, "get.lua")
    with open(script, "w") as f:
        f.write('wrk.headers["Authorization"] = "%s"\nwrk.headers["Accept"] = "%s"\n' % (target.auth, TAXII))
        f.write('done = function(summary, latency, requests)\n'
                '  io.write(string.format("RESULT %d %d %.2f %.2f %.2f %.2f\\n", summary.requests, '
                'summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout, '
                'summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, '
                'latency:percentile(95) / 1000, latency:percentile(99) / 1000))\nend\n')
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--timeout", "30s", "-s", script,
                          f"http://127.0.0.1:{target.port}{target.objects}?limit=100"], capture_output=True, text=True).stdout
    line = [x for x in out.splitlines() if x.startswith("RESULT")]
    if not line:
        raise RuntimeError("wrk failed: " + out[-500:])
    _, total, errors, rate, p50, p95, p99 = line[0].split()
    return dict(requests=int(total), errors=int(errors), rate=float(rate), p50=float(p50), p95=float(p95), p99=float(p99))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=["hygie", "medallion"])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--checkpoints", default="", help="comma list of object counts for read tests (default: powers of 10)")
    parser.add_argument("--block", type=int, default=0, help="objects per ingest measurement (default objects/10)")
    parser.add_argument("--get-seconds", type=int, default=10)
    parser.add_argument("--binary", default=".build/release/hygie")
    parser.add_argument("--postgres")
    parser.add_argument("--medallion", default="medallion")
    parser.add_argument("--keep", help="data directory to use and keep (Hygie), e.g. to measure the indicator snapshot")
    args = parser.parse_args()
    checkpoints = sorted({int(x) for x in args.checkpoints.split(",") if x}) or \
        [c for c in (100, 500, 10_000, 100_000, 1_000_000) if c <= args.objects]
    block = args.block or max(args.objects // 10, 100)
    target = (Hygie if args.target == "hygie" else Medallion)(args)
    engine = "postgres" if args.postgres else ("sqlite" if args.target == "hygie" else "memory")
    run = int(time.time())
    try:
        target.start()
        stored = 0
        marks = sorted(set(checkpoints + list(range(block, args.objects + 1, block)) + [args.objects]))
        for mark in marks:
            if mark > args.objects:
                break
            count = mark - stored
            if count > 0:
                rate = ingest(target, stored, count, run)
                print(f"ingest {args.target}/{engine} objects {stored}->{mark}: {rate:.0f} objects/s", flush=True)
                stored = mark
            if mark in checkpoints:
                result = reads(target, args.get_seconds)
                print(f"get {args.target}/{engine} at {stored} objects: {result['rate']:.1f} req/s, p50 {result['p50']:.1f} ms, "
                      f"p95 {result['p95']:.1f} ms, p99 {result['p99']:.1f} ms, {result['errors']} errors", flush=True)
    finally:
        target.stop()


if __name__ == "__main__":
    sys.exit(main())
