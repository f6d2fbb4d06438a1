#!/usr/bin/env python3
"""End-to-end checks of `hygie hunt` as scripts use it: the JSON lines and --stats contract, exit codes, every
output format, gzip and XML inputs, rule-loading reports, and the rule author shown with every detection.

    python3 Tests/e2e/e2e_hunt.py BINARY
"""
import csv
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile

from hygie_client import Report

HERE = os.path.dirname(os.path.abspath(__file__))
SIGMA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "sigma"))


def hunt(binary, *args):
    result = subprocess.run([binary, "hunt", *args], capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout, result.stderr


def main(binary, report):
    rules = os.path.join(SIGMA, "rules")
    samples = os.path.join(SIGMA, "samples")
    manifest = json.load(open(os.path.join(SIGMA, "manifest.json")))

    code, out, err = hunt(binary, rules, "--input", samples, "--format", "jsonl", "--stats", "--jobs", "2")
    report.check("detections exit with 1", code == 1, f"exit {code}: {err[-500:]}")
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    keys = {"rule_id", "title", "level", "author", "tags", "timestamp", "input", "matched"}
    report.check("jsonl lines carry the contract keys", lines and all(keys <= set(line) for line in lines))
    report.check("every detection credits the rule author", all(line["author"] for line in lines))
    report.check("matched is a field → value object", all(isinstance(line["matched"], dict) and line["matched"] for line in lines))
    by_rule = {}
    for line in lines:
        if os.path.basename(line["input"]).startswith(line["rule_id"]):
            by_rule[line["rule_id"]] = by_rule.get(line["rule_id"], 0) + 1
    short = [e["rule_id"] for e in manifest["entries"] if by_rule.get(e["rule_id"], 0) < e["expected_match_count"]]
    report.check("every regression sample fires its rule through the CLI", not short, f"{short[:5]}")
    stats = json.loads(err.strip().splitlines()[-1])
    for key in ("events", "rules_loaded", "rules_skipped", "detections", "seconds", "events_per_second"):
        report.check(f"--stats has {key}", key in stats, f"{stats}")
    report.check("--stats counts", stats["events"] == 238 and stats["rules_loaded"] == 202 and stats["detections"] == len(lines), f"{stats}")
    report.check("loading report on stderr", "rules: 202 loaded from 202 files, 0 skipped" in err, err[:300])

    with tempfile.TemporaryDirectory() as work:
        # Skipped rules are reported with file, line and reason; the rest runs.
        bad = os.path.join(work, "bad.yml")
        with open(bad, "w") as handle:
            handle.write("title: Broken\nlogsource: {category: test}\ndetection:\n    sel: {A|nope: 1}\n    condition: sel\n")
        good = os.path.join(work, "good.yml")
        with open(good, "w") as handle:
            handle.write("title: Good\nauthor: Tester\nlogsource: {category: test}\ndetection:\n    sel: {A: '1'}\n    condition: sel\nlevel: high\n")
        events = os.path.join(work, "events.jsonl.gz")
        with gzip.open(events, "wt") as handle:
            handle.write('{"A":"1","timestamp":"2026-11-29T03:00:00Z","host":"h1"}\n{"A":"2"}\n')
        code, out, err = hunt(binary, bad, good, "-i", events, "--format", "csv")
        report.check("skipped rule reported with file and line", f"{bad}:4: modifier" in err, err[:300])
        report.check("skipped counts by reason", "1 skipped (modifier 1)" in err, err[:300])
        rows = list(csv.DictReader(io.StringIO(out)))
        report.check("csv output from gzip input", code == 1 and len(rows) == 1 and rows[0]["author"] == "Tester", out)
        code, out, err = hunt(binary, good, "-i", events, "--format", "json")
        report.check("json output is one array", code == 1 and len(json.loads(out)) == 1, out)
        code, out, err = hunt(binary, good, "-i", events)
        report.check("table shows title, author and a summary by level", "Good" in out and "Tester" in out and "high 1" in out, out)
        code, out, err = hunt(binary, good, "-i", events, "--min-level", "critical", "--quiet")
        report.check("no detection exits with 0", code == 0 and out == "", f"{code} {out}")
        code, out, err = hunt(binary, good, "-i", events, "--to", "2026-11-28", "--format", "jsonl", "--stats")
        report.check("--to skips later events", code == 0 and out == "" and '"out_of_range":1' in err, out + err)
        code, out, err = hunt(binary, good, "-i", events, "--from", "2026-11-29T02:59:00Z", "--format", "jsonl")
        report.check("--from keeps later events", code == 1 and out.count("\n") == 1, out)
        xml = os.path.join(work, "security.xml")
        with open(xml, "w") as handle:
            handle.write("<Events><Event><System><EventID>4624</EventID><Channel>Security</Channel><Computer>IRM-01</Computer>"
                         "</System><EventData><Data Name='LogonType'>10</Data><Data Name='IpAddress'>10.0.0.9</Data></EventData></Event></Events>")
        code, out, err = hunt(binary, "--builtin", "-i", xml, "--format", "jsonl")
        report.check("built-in hospital rules on Windows XML", code == 1 and "Biomedical Workstation" in out and "Hygie project" in out, out + err)
        # Errors: exit 2 with a message; bad arguments: 64.
        code, out, err = hunt(binary, good, "-i", os.path.join(work, "missing.jsonl"))
        report.check("missing input exits 2 with a message", code == 2 and "no such input" in err, err)
        code, out, err = hunt(binary, bad, "-i", events)
        report.check("no usable rule exits 2", code == 2 and "no usable rule" in err, err)
        code, out, err = hunt(binary, good, "-i", events, "--min-level", "severe")
        report.check("bad option exits 64", code == 64 and "min-level" in err, f"{code} {err}")
        code, out, err = hunt(binary, good)
        report.check("missing --input exits 64", code == 64, f"{code}")


if __name__ == "__main__":
    report = Report("hunt")
    report.run(lambda: main(sys.argv[1], report))
