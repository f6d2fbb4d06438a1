#!/usr/bin/env python3
"""E-mail triage benchmark: reported messages of about 50 KB triaged on one core.

Writes 200 varied messages (HTML newsletter-like bodies with links, a quoted-printable text part, a PDF-like
attachment, six Received hops and Authentication-Results; a quarter wrapped as forwarded-as-attachment reports),
then runs `hygie cases triage --repeat N --stats` pinned to one CPU (taskset -c 0) several times and prints the
median messages/s and peak memory. Same-session peer: CPython's standard `email` package parsing the same files
(policy.default, every part decoded, attachments hashed with MD5/SHA-1/SHA-256), also pinned to one CPU; it does
less than triage (no links, look-alikes or scoring), so the ratio is conservative.

Usage: python3 scripts/bench-triage.py [--runs N] [--repeat N] [--binary .build/release/hygie]
"""
import argparse
import base64
import email
import email.policy
import hashlib
import os
import quopri
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

WORDS = ("patient service urgence dossier planning garde infirmier cadre pharmacie laboratoire imagerie bloc "
         "consultation rendez-vous sécurité messagerie informatique direction qualité hygiène formation réunion "
         "compte rendu procédure maintenance accès badge stationnement restauration").split()


def paragraph(rng, words=60):
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def message(index, rng):
    domain = rng.choice(["ght-valbrune.fr", "newsletter.example", "chu-va1brune.fr", "fournisseur.example",
                         "ameli-remboursement.example"])
    links = [f"https://{rng.choice(['www.', 'portail.', ''])}{domain}/p/{index}/{i}?utm_source=mail&id={rng.randint(1, 10**6)}"
             for i in range(25)]
    text = "\n\n".join(paragraph(rng) + f" {links[i % len(links)]}" for i in range(28))
    html_rows = "".join(
        f'<tr><td style="padding:4px">{paragraph(rng, 25)}</td><td><a href="{links[i % len(links)]}">'
        f'{"Voir" if i % 3 else links[i % len(links)]}</a></td></tr>' for i in range(40))
    html = f"<html><head><style>td{{font-family:Arial}}</style></head><body><table>{html_rows}</table></body></html>"
    attachment = bytes(rng.getrandbits(8) for _ in range(9_000))
    hops = "".join(
        f"Received: from relay{h}.{domain} (relay{h}.{domain} [198.51.100.{h + 10}])\r\n"
        f"\tby mx{h}.chu-valbrune.fr (Postfix) with ESMTPS id {index}{h};\r\n"
        f"\tMon, 16 Nov 2026 09:{10 + h:02d}:03 +0100 (CET)\r\n" for h in range(6))
    headers = (hops + "Authentication-Results: mx1.chu-valbrune.fr; spf=pass smtp.mailfrom=" + domain
               + "; dkim=pass header.d=" + domain + "; dmarc=pass header.from=" + domain + "\r\n"
               f"From: =?utf-8?Q?Service_communication?= <info@{domain}>\r\n"
               f"Reply-To: contact@{domain}\r\nTo: agent{index}@chu-valbrune.fr\r\n"
               f"Subject: =?utf-8?Q?Lettre_d=27information_n=C2=B0{index}?=\r\n"
               f"Date: Mon, 16 Nov 2026 09:00:00 +0100\r\nMessage-ID: <bench-{index}@{domain}>\r\n"
               "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n")
    body = ("--mix\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
            "--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + quopri.encodestring(text.encode()).decode().replace("\n", "\r\n")
            + "\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + wrap(base64.b64encode(html.encode()).decode()) + "\r\n--alt--\r\n"
            "--mix\r\nContent-Type: application/pdf; name=\"lettre.pdf\"\r\n"
            "Content-Disposition: attachment; filename=\"lettre.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + wrap(base64.b64encode(b"%PDF-1.7\n" + attachment).decode()) + "\r\n--mix--\r\n")
    original = (headers + body).encode()
    if index % 4 != 0:
        return original
    return (f"From: agent{index}@chu-valbrune.fr\r\nTo: report@chu-valbrune.fr\r\nSubject: TR: suspect\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"rep\"\r\n\r\n"
            "--rep\r\nContent-Type: text/plain\r\n\r\nSuspect ?\r\n--rep\r\nContent-Type: message/rfc822\r\n\r\n"
            ).encode() + original + b"\r\n--rep--\r\n"


def wrap(text, width=76):
    return "\r\n".join(text[i:i + width] for i in range(0, len(text), width))


def python_peer(files, repeat):
    count = 0
    for _ in range(repeat):
        for path in files:
            with open(path, "rb") as handle:
                parsed = email.message_from_bytes(handle.read(), policy=email.policy.default)
            for part in parsed.walk():
                if part.is_multipart():
                    continue
                if part.get_content_type() == "message/rfc822":
                    continue
                payload = part.get_payload(decode=True) or b""
                if part.get_filename():
                    hashlib.md5(payload).hexdigest()
                    hashlib.sha1(payload).hexdigest()
                    hashlib.sha256(payload).hexdigest()
                elif part.get_content_maintype() == "text":
                    part.get_content()
            count += 1
    return count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--binary", default=".build/release/hygie")
    args = parser.parse_args()
    rng = random.Random(7)
    folder = tempfile.mkdtemp(prefix="hygie-triage-bench-")
    files = []
    for index in range(200):
        path = os.path.join(folder, f"m{index:03d}.eml")
        with open(path, "wb") as handle:
            handle.write(message(index, rng))
        files.append(path)
    sizes = [os.path.getsize(f) for f in files]
    print(f"{len(files)} messages, mean {statistics.mean(sizes) / 1024:.1f} KiB, median {statistics.median(sizes) / 1024:.1f} KiB")
    hygie_rates, memories, peer_rates = [], [], []
    for run in range(args.runs):
        result = subprocess.run(
            ["taskset", "-c", "0", args.binary, "cases", "triage", "--repeat", str(args.repeat), "--stats",
             "--format", "json", "--own-domain", "chu-valbrune.fr", "--protected-domain", "ameli.fr", *files],
            capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stderr)
            sys.exit(1)
        stats = result.stderr.strip().splitlines()[-1]
        rate = float(re.search(r"([\d.]+) messages/s", stats).group(1))
        memory = float(re.search(r"peak RSS ([\d.]+) MB", stats).group(1))
        hygie_rates.append(rate)
        memories.append(memory)
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.sched_setaffinity(0, {0})
            python_peer(files, args.repeat)
            os._exit(0)
        os.waitpid(pid, 0)
        peer = len(files) * args.repeat / (time.perf_counter() - started)
        peer_rates.append(peer)
        print(f"run {run + 1}: hygie {rate:.0f} messages/s (peak RSS {memory:.0f} MB) — python email {peer:.0f} messages/s")
    print(f"median: hygie {statistics.median(hygie_rates):.0f} messages/s, peak RSS {statistics.median(memories):.0f} MB; "
          f"python email {statistics.median(peer_rates):.0f} messages/s; "
          f"ratio {statistics.median(hygie_rates) / statistics.median(peer_rates):.2f}")
    for path in files:
        os.remove(path)
    os.rmdir(folder)


if __name__ == "__main__":
    main()
