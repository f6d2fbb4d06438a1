#!/usr/bin/env python3
"""Compares Hygie's STIX pattern evaluator (`hygie intel match-pattern`) with the OASIS reference matcher
(`stix2-matcher`, PyPI) on the same observed data and patterns: every operator, the observation operators and
the qualifiers. One line per pattern; ends with `N passed, N failed`.

Usage: e2e_patterns.py BINARY   (run with a Python that has stix2-matcher, e.g. .venv/bin/python)
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from hygie_client import Report  # noqa: E402
from stix2matcher.matcher import match  # noqa: E402

BINARY = sys.argv[1]
report = Report("patterns")


def sco(kind, n, **fields):
    return dict({"type": kind, "spec_version": "2.1", "id": f"{kind}--00000000-0000-4000-8000-{n:012d}"}, **fields)


def observed(n, first, last, refs, count=1):
    return {"type": "observed-data", "spec_version": "2.1", "id": f"observed-data--00000000-0000-4000-9000-{n:012d}",
            "created": first, "modified": first, "first_observed": first, "last_observed": last, "number_observed": count,
            "object_refs": refs}


IP1 = sco("ipv4-addr", 1, value="198.51.100.7")
IP2 = sco("ipv4-addr", 2, value="203.0.113.200")
DIR = sco("directory", 3, path="C:\\Users\\Public")
FILE = sco("file", 4, name="Facture_Laboratoire.docm", size=48213,
           hashes={"SHA-256": "9f2c6d1e8b7a4c3f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7", "MD5": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"},
           parent_directory_ref=DIR["id"])
NET = sco("network-traffic", 5, src_ref=IP2["id"], dst_ref=IP1["id"], dst_port=443, protocols=["ipv4", "tcp", "tls"])
DOM = sco("domain-name", 6, value="maj-logiciel-dpi.example")
MAIL = sco("email-addr", 7, value="facturation@labo.example", display_name="Service facturation")
DOM2 = sco("domain-name", 8, value="c2.evil.example")
PROC = sco("process", 9, pid=4242, command_line="vssadmin.exe delete shadows /all /quiet")
BUNDLE = {"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "objects": [
    observed(1, "2026-11-20T08:00:00Z", "2026-11-20T08:00:10Z", [FILE["id"], DIR["id"]]),
    observed(2, "2026-11-20T08:02:00Z", "2026-11-20T08:02:00Z", [NET["id"], IP1["id"], IP2["id"]]),
    observed(3, "2026-11-20T08:03:00Z", "2026-11-20T08:03:00Z", [DOM["id"]], count=3),
    observed(4, "2026-11-20T09:30:00Z", "2026-11-20T09:30:00Z", [MAIL["id"], DOM2["id"]]),
    observed(5, "2026-11-20T09:40:00Z", "2026-11-20T09:40:00Z", [PROC["id"]]),
    IP1, IP2, DIR, FILE, NET, DOM, MAIL, DOM2, PROC]}

PATTERNS = [
    "[ipv4-addr:value = '198.51.100.7']",
    "[ipv4-addr:value = '198.51.100.8']",
    "[ipv4-addr:value != '198.51.100.8']",
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
    "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]",
    "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 80]",
    "[network-traffic:protocols[*] = 'tls']",
    "[network-traffic:protocols[0] = 'tls']",
    "[network-traffic:protocols[2] = 'tls']",
    "[network-traffic:dst_port IN (22, 443, 3389)]",
    "[network-traffic:dst_port > 1024]",
    "[network-traffic:dst_port <= 443 AND network-traffic:dst_port >= 443]",
    "[file:hashes.'SHA-256' = '9f2c6d1e8b7a4c3f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7']",
    "[file:hashes.MD5 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0' AND file:size > 40000]",
    "[file:name LIKE 'Facture%.doc_']",
    "[file:name LIKE 'facture%']",
    "[file:name MATCHES '^Facture_[A-Za-z]+\\\\.docm$']",
    "[file:name NOT MATCHES '\\\\.exe$']",
    "[file:parent_directory_ref.path = 'C:\\\\Users\\\\Public']",
    "[EXISTS file:hashes.MD5]",
    "[EXISTS file:hashes.'SHA-1']",
    "[file:size NOT > 50000]",
    "[file:name = 'x' OR file:size = 48213]",
    "[domain-name:value = 'maj-logiciel-dpi.example'] AND [ipv4-addr:value = '198.51.100.7']",
    "[domain-name:value = 'maj-logiciel-dpi.example'] AND [domain-name:value = 'c2.evil.example']",
    "[domain-name:value = 'nothing.example'] OR [email-addr:value = 'facturation@labo.example']",
    "[file:name LIKE 'Facture%'] FOLLOWEDBY [domain-name:value = 'maj-logiciel-dpi.example']",
    "[domain-name:value = 'maj-logiciel-dpi.example'] FOLLOWEDBY [file:name LIKE 'Facture%']",
    "([file:name LIKE 'Facture%'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.7']) WITHIN 300 SECONDS",
    "([file:name LIKE 'Facture%'] FOLLOWEDBY [email-addr:value = 'facturation@labo.example']) WITHIN 300 SECONDS",
    "([file:name LIKE 'Facture%'] FOLLOWEDBY [email-addr:value = 'facturation@labo.example']) WITHIN 7200 SECONDS",
    "[domain-name:value = 'maj-logiciel-dpi.example'] REPEATS 3 TIMES",
    "[domain-name:value = 'maj-logiciel-dpi.example'] REPEATS 4 TIMES",
    "[ipv4-addr:value = '198.51.100.7'] START t'2026-11-20T08:00:00Z' STOP t'2026-11-20T09:00:00Z'",
    "[ipv4-addr:value = '198.51.100.7'] START t'2026-11-20T09:00:00Z' STOP t'2026-11-20T10:00:00Z'",
    "[email-addr:display_name = 'Service facturation' AND email-addr:value LIKE '%@labo.example']",
    "[process:pid = 4242 AND process:command_line LIKE '%delete shadows%']",
    "[process:command_line MATCHES 'vssadmin(\\\\.exe)? delete shadows']",
    "([process:pid = 4242] AND [domain-name:value = 'c2.evil.example']) WITHIN 900 SECONDS",
    "[x-custom:value = 'a'] OR [ipv4-addr:value = '203.0.113.200']",
]


def main():
    work = tempfile.mkdtemp(prefix="hygie-patterns-")
    path = os.path.join(work, "observed.json")
    with open(path, "w") as f:
        json.dump(BUNDLE, f)
    for pattern in PATTERNS:
        expected = bool(match(pattern, [BUNDLE], stix_version="2.1"))
        result = subprocess.run([BINARY, "intel", "match-pattern", pattern, "--observed", path], capture_output=True, text=True)
        got = {0: True, 1: False}.get(result.returncode)
        report.check(f"{pattern} -> {expected}", got == expected,
                     f"hygie: {result.stdout.strip() or result.stderr.strip()} (exit {result.returncode})")
    bad = subprocess.run([BINARY, "intel", "match-pattern", "[file:name = ", "--observed", path], capture_output=True, text=True)
    report.check("an invalid pattern exits 2 with a message", bad.returncode == 2 and "invalid pattern" in bad.stderr, bad.stderr)


if __name__ == "__main__":
    report.run(main)
