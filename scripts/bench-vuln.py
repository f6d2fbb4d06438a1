#!/usr/bin/env python3
"""Vulnerability benchmark: import every CVE JSON 5 record of CISA Vulnrichment, then import and match an
inventory of 10,000 assets with 5 components each, with a release `hygie` on a fresh SQLite data directory
(or PostgreSQL with --postgres URL). Prints the wall time and peak RSS (from /usr/bin/time) of each step, and
medians over --runs runs.

The inventory is generated from the data itself (vendor/product/version of CPEs named by the records), with
a fixed seed: about one component in three names a product some record affects, at a random version.

usage: scripts/bench-vuln.py .build/release/hygie [--runs 3] [--postgres URL] [--data ../shared/data/vuln]
"""
import argparse
import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time


def timed(command, env):
    """Runs command under /usr/bin/time -v; returns (seconds, peak RSS in MB, stdout)."""
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) / 1024
    return seconds, rss, result.stdout


def inventory(data, path, assets=10_000, per_asset=5, seed=7):
    """10,000 assets × 5 components: products named by the records' CPEs, and common unaffected software."""
    products = {}
    with gzip.open(os.path.join(data, "vulnrichment", "cve5_vulnrichment_all.jsonl.gz"), "rt") as lines:
        for line in lines:
            record = json.loads(line)
            containers = [record["containers"]["cna"]] + record["containers"].get("adp", [])
            for container in containers:
                for affected in container.get("affected", []):
                    for cpe in affected.get("cpes", []):
                        parts = cpe.split(":")
                        if len(parts) == 13 and parts[1] == "2.3" and "\\" not in cpe:
                            # Versions an inventory would hold: first affected ones and fixed ones alike.
                            versions = [v.get(k, "") for v in affected.get("versions", [])
                                        for k in ("version", "lessThan", "lessThanOrEqual")
                                        if re.fullmatch(r"[0-9][0-9.]*", v.get(k, ""))]
                            key = (parts[2], parts[3], parts[4])
                            products.setdefault(key, set()).update(versions or ["1.0"])
    random.seed(seed)
    products = [(*key, sorted(versions)) for key, versions in random.sample(sorted(products.items()), min(len(products), 5_000))]
    kinds = ["server", "workstation", "network", "medical_device", "iot"]
    with open(path, "w") as out:
        out.write("name,type,address,zone,internet,criticality,vendor,product,version,cpe\n")
        for n in range(assets):
            kind = kinds[n % len(kinds)]
            exposed = "yes" if n % 50 == 0 else "no"
            for c in range(per_asset):
                if random.random() < 0.35:
                    part, vendor, product, versions = random.choice(products)
                    version = random.choice(versions)
                    cpe = f"cpe:2.3:{part}:{vendor}:{product}:*:*:*:*:*:*:*:*"
                else:
                    vendor, product, version, cpe = "hygie-bench", f"internal-tool-{c}", f"{n % 7}.{c}", ""
                out.write(f"asset-{n:05d},{kind},10.{n // 65536}.{(n // 256) % 256}.{n % 256},lan,{exposed},medium,"
                          f"{vendor},{product},{version},{cpe}\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres")
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "vuln"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="hygie-bench-vuln-")
    inventory_path = os.path.join(work, "inventory.csv")
    inventory(args.data, inventory_path)
    records = os.path.join(args.data, "vulnrichment", "cve5_vulnrichment_all.jsonl.gz")
    results = {"import": [], "inventory+match": [], "rematch": []}
    for run in range(args.runs):
        env = dict(os.environ, HYGIE_DATA_DIR=os.path.join(work, f"run{run}"), HYGIE_LOG_LEVEL="warning")
        if args.postgres:
            env["HYGIE_DATABASE_URL"] = args.postgres
        subprocess.run([args.binary, "migrate"], check=True, capture_output=True, env=env)
        subprocess.run([args.binary, "establishments", "add", "--name", f"Bench {run}"], check=True, capture_output=True, env=env)
        step = timed([args.binary, "vuln", "import", "--kind", "cve5", records, "--stats"], env)
        results["import"].append(step)
        print(f"run {run + 1}: import {step[0]:.2f} s, {step[1]:.0f} MB — {step[2].strip().splitlines()[0]}")
        step = timed([args.binary, "vuln", "inventory", "-e", f"Bench {run}", inventory_path], env)
        results["inventory+match"].append(step)
        print(f"run {run + 1}: inventory + first match {step[0]:.2f} s, {step[1]:.0f} MB — {step[2].strip()}")
        step = timed([args.binary, "vuln", "match", "-e", f"Bench {run}", "--stats"], env)
        results["rematch"].append(step)
        print(f"run {run + 1}: rematch {step[0]:.2f} s, {step[1]:.0f} MB — {step[2].strip()}")
        if args.postgres:
            # A clean catalogue and inventory for the next run.
            subprocess.run(["psql", args.postgres, "-qc",
                            "TRUNCATE vuln_records, vuln_affected, vuln_imports, vuln_state, vuln_finding_events, vuln_evidence, "
                            "vuln_findings, vuln_components, vuln_assets CASCADE"], check=True, capture_output=True)
    for name, steps in results.items():
        print(f"median {name}: {statistics.median(s[0] for s in steps):.2f} s, peak RSS {statistics.median(s[1] for s in steps):.0f} MB")


if __name__ == "__main__":
    main()
