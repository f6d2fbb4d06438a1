#!/usr/bin/env python3
"""End-to-end detection scenario against the real `hygie` binary: HTTP and syslog ingestion, alerts, malformed
input, spool quota, kill -9 in the middle of a stream, and (with --postgres) two nodes sharing one database.

Usage: e2e_detection.py BINARY [--postgres URL]
Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from hygie_client import Report, Server, SMTPSink, free_port, metrics  # noqa: E402

BINARY = sys.argv[1]
PG_URL = sys.argv[sys.argv.index("--postgres") + 1] if "--postgres" in sys.argv else None
ENGINE = "postgres" if PG_URL else "sqlite"
FINESS = "999000017"
report = Report(f"detection-{ENGINE}")
check = report.check

HOSTS = [f"SRV-HL7-0{i}" for i in range(1, 6)]


def hl7_shell(n):
    """A process creation that the built-in rule "HL7 Interface Engine Spawns A Shell" flags."""
    return {
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": HOSTS[(n // 10) % len(HOSTS)],
        "User": "VALBRUNE\\svc-mirth", "UtcTime": f"2026-11-29 06:00:{(n // 1000) % 60:02d}.{n % 1000:03d}",
        "ParentImage": "C:\\Program Files\\Mirth Connect\\mcservice.exe", "Image": "C:\\Windows\\System32\\cmd.exe",
        "CommandLine": f"cmd.exe /c echo {n}",
    }


def benign(n):
    return {
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": f"WS-{n % 300:03d}",
        "User": f"VALBRUNE\\user{n % 700}", "UtcTime": f"2026-11-29 06:00:{(n // 1000) % 60:02d}.{n % 1000:03d}",
        "ParentImage": "C:\\Windows\\explorer.exe", "Image": "C:\\Program Files\\DPI\\dpi.exe",
        "CommandLine": f"dpi.exe --patient {n}",
    }


def batches(total, size, every=10):
    """NDJSON bodies of `size` events; one event in `every` matches."""
    bodies = []
    for start in range(0, total, size):
        lines = [json.dumps(hl7_shell(n) if n % every == 0 else benign(n)) for n in range(start, min(total, start + size))]
        bodies.append(("\n".join(lines) + "\n").encode())
    return bodies


def post(base, token, body, headers=None, timeout=30):
    request = urllib.request.Request(base + "/api/v1/ingest", data=body, method="POST")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def cli(work, *args, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([BINARY, *args, "--data-dir", work], capture_output=True, text=True, env=e, timeout=300)


def alerts(work, env):
    result = cli(work, "alerts", "list", "-e", FINESS, "--json", "--limit", "500", env=env)
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def alert_summary(items):
    return sorted((a["rule_id"], a["host"], a["user"], a["count"]) for a in items if a["kind"] == "rule")


def source_events(work, env, name):
    result = cli(work, "sources", "list", "-e", FINESS, env=env)
    for line in result.stdout.splitlines():
        parts = line.split("\t")
        if parts[0] == name:
            return int(parts[4])
    return -1


def wait_for(predicate, timeout=120, step=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def setup(name, env_base):
    """A data directory (and on PostgreSQL a fresh database) with the demo establishment and its sources."""
    work = tempfile.mkdtemp(prefix=f"hygie-e2e-{name}-{ENGINE}-")
    env = dict(env_base)
    if PG_URL:
        env["HYGIE_DATABASE_URL"] = fresh_database(name)
        cli(work, "migrate", env=env)
    return work, env, prepare(work, env)


def prepare(work, env):
    """Demo establishment, an HTTP source and a syslog source; returns the ingest token."""
    cli(work, "demo", "--no-events", env=env)
    created = cli(work, "sources", "add", "-e", FINESS, "--name", "winlogbeat", "--silent-after", "30", env=env)
    token = re.search(r"Ingest token \(shown once\): (\S+)", created.stdout)
    cli(work, "sources", "add", "-e", FINESS, "--name", "firewall", "--kind", "syslog", "--sender", "127.0.0.0/8", env=env)
    return token.group(1) if token else None


def scenario_clean_and_crash(env_base):
    total, size = 40_000, 500
    bodies = batches(total, size)

    # 1. Clean run: every batch accepted, every event evaluated.
    clean_dir, env, token = setup("det_clean", env_base)
    check("an HTTP source gets an ingest token once", token is not None and token.startswith("hyi_"))
    server = Server(BINARY, clean_dir, env=env).start()
    statuses = [post(server.base, token, body)[0] for body in bodies]
    check("the clean run's batches are all acknowledged with 202", all(s == 202 for s in statuses), set(statuses))
    evaluated = wait_for(lambda: source_events(clean_dir, env, "winlogbeat") >= total)
    check("every event of the clean run is evaluated", evaluated, source_events(clean_dir, env, "winlogbeat"))
    clean_alerts = alert_summary(alerts(clean_dir, env))
    check(
        "the clean run raises one deduplicated alert per host, counting every match",
        len(clean_alerts) == len(HOSTS) and sum(a[3] for a in clean_alerts) == total // 10, clean_alerts)
    check("alerts name the rule author", all(a["rule_author"] == "Hygie project" for a in alerts(clean_dir, env)))
    m = metrics(server.base)
    check("/metrics counts acknowledged HTTP events", m.get('hygie_ingest_events_total{transport="http"}') == total)
    server.stop()

    # 2. Crash run: kill -9 while batches stream in, restart, send what was not acknowledged.
    crash_dir, env, token = setup("det_crash", env_base)
    server = Server(BINARY, crash_dir, env=env).start()
    acknowledged = []
    unacknowledged = []
    lock = threading.Lock()

    def stream(indices):
        for index in indices:
            try:
                status, _, _ = post(server.base, token, bodies[index], timeout=10)
            except Exception:
                status = 0
            with lock:
                (acknowledged if status == 202 else unacknowledged).append(index)

    threads = [threading.Thread(target=stream, args=(range(k, len(bodies), 2),)) for k in range(2)]
    for thread in threads:
        thread.start()
    # Kill once a few batches were acknowledged, while the others are still being sent.
    wait_for(lambda: len(acknowledged) >= 6, timeout=30, step=0.005)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    for thread in threads:
        thread.join()
    check("kill -9 happened in the middle of the stream", 0 < len(acknowledged) < len(bodies), len(acknowledged))
    server = Server(BINARY, crash_dir, env=env, port=server.port).start()
    acked_events = len(acknowledged) * size
    replayed = wait_for(lambda: source_events(crash_dir, env, "winlogbeat") >= acked_events)
    check(
        "after restart every acknowledged event is evaluated", replayed,
        f"{source_events(crash_dir, env, 'winlogbeat')} < {acked_events}")
    # The sender retries what it did not see acknowledged (at-least-once, as Winlogbeat does).
    for index in sorted(unacknowledged):
        post(server.base, token, bodies[index])
    wait_for(lambda: source_events(crash_dir, env, "winlogbeat") >= total)
    evaluated = source_events(crash_dir, env, "winlogbeat")
    # A batch in flight at the kill may have reached the spool without its 202: it is then evaluated twice.
    inflight = len(unacknowledged)
    check(
        "no acknowledged event lost and at most the in-flight batches counted twice",
        total <= evaluated <= total + inflight * size, f"{evaluated} for {total} sent, {inflight} retried")
    crash_alerts = alert_summary(alerts(crash_dir, env))
    same_alerts = [a[:3] for a in crash_alerts] == [a[:3] for a in clean_alerts]
    duplicates = sum(a[3] for a in crash_alerts) - sum(a[3] for a in clean_alerts)
    check("the crash run's alerts are the clean run's alerts", same_alerts, f"{crash_alerts} vs {clean_alerts}")
    check(
        "alert counts equal the clean run's, apart from re-sent in-flight batches",
        0 <= duplicates <= inflight * size // 10, duplicates)
    print(f"info [{ENGINE}] crash run: {len(acknowledged)} batches acknowledged before kill, {inflight} retried, "
          f"{evaluated - total} events evaluated twice")
    server.stop()


def fresh_database(name):
    base = PG_URL.rsplit("/", 1)[0]
    subprocess.run(["psql", PG_URL, "-qc", f"DROP DATABASE IF EXISTS {name}"], capture_output=True)
    subprocess.run(["psql", PG_URL, "-qc", f"CREATE DATABASE {name}"], capture_output=True, check=True)
    return f"{base}/{name}"


def scenario_malformed_and_syslog(env_base):
    work, env, token = setup("det_bad", env_base)
    udp, tcp = free_port(), free_port()
    env.update({"HYGIE_SYSLOG_UDP": f"127.0.0.1:{udp}", "HYGIE_SYSLOG_TCP": f"127.0.0.1:{tcp}"})
    server = Server(BINARY, work, env=env).start()
    base = server.base
    good = (json.dumps(hl7_shell(0)) + "\n").encode()

    status, body, _ = post(base, None, good)
    check("a missing ingest token is refused with 401 and a JSON error", status == 401 and '"error"' in body, status)
    status, _, _ = post(base, "hyi_wrong", good)
    check("a wrong ingest token is refused with 401", status == 401, status)
    status, body, _ = post(base, token, b'{"EventID": 1}\n{"EventID": 2, "trunc')
    check("a truncated event refuses the body with 400 and says which", status == 400 and "event 2" in body, body)
    status, body, _ = post(base, token, b'{"Image": "\xff\xfe"}\n')
    check("invalid UTF-8 is refused with 400", status == 400 and "UTF-8" in body, body)
    huge = ('{"CommandLine": "' + "A" * (1 << 20) + '"}\n').encode()
    status, body, _ = post(base, token, huge)
    check("a 1 MB event is refused with 400", status == 400 and "larger than" in body, (status, body[:200]))
    status, body, _ = post(base, token, gzip.compress(good)[:20], {"Content-Encoding": "gzip"})
    check("a truncated gzip body is refused with 400", status == 400, (status, body))
    status, body, _ = post(base, token, gzip.compress(good * 3), {"Content-Encoding": "gzip"})
    check("a gzip NDJSON body is accepted", status == 202 and json.loads(body)["accepted"] == 3, body)
    status, body, _ = post(base, token, json.dumps([hl7_shell(1), benign(2)]).encode())
    check("a JSON array body is accepted", status == 202 and json.loads(body)["accepted"] == 2, body)

    # A slow client holding a half-sent request does not stop others.
    slow = socket.create_connection(("127.0.0.1", server.port))
    slow.sendall(b"POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")
    status, _, _ = post(base, token, good, timeout=10)
    check("a slow client does not block other senders", status == 202, status)
    slow.close()

    # Syslog: octet counting, newline framing, CEF, UDP; framing errors close the connection and are counted.
    cef = b"<134>Nov 29 06:20:05 fw01 CEF:0|Fortinet|FortiGate|7.2|0001|deny|5|src=10.1.1.1 act=deny"
    with socket.create_connection(("127.0.0.1", tcp)) as conn:
        conn.sendall(str(len(cef)).encode() + b" " + cef + b"<13>1 2026-11-29T06:20:06Z host app - - - hello\n")
    for n in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(f"<13>Nov 29 06:20:{n:02d} host app: udp message {n}".encode(), ("127.0.0.1", udp))
    with socket.create_connection(("127.0.0.1", tcp)) as conn:
        conn.sendall(b"999999999 " + b"x" * 10)
    with socket.create_connection(("127.0.0.1", tcp)) as conn:
        conn.sendall(b"A" * (200 << 10))
    with socket.create_connection(("127.0.0.1", tcp)) as conn:
        conn.sendall(b"120 <13>1 truncated frame")
    received = wait_for(lambda: source_events(work, env, "firewall") >= 22, timeout=30)
    check("syslog over TCP (both framings) and UDP reaches detection", received, source_events(work, env, "firewall"))
    m = wait_for(lambda: (lambda v: v if v.get('hygie_ingest_rejected_total{transport="tcp",reason="truncated"}') else None)(metrics(base)), timeout=10) or metrics(base)
    check("oversized syslog frames are counted, not kept", m.get('hygie_ingest_rejected_total{transport="tcp",reason="malformed"}', 0) >= 2, m)
    check("a truncated syslog frame is counted", m.get('hygie_ingest_rejected_total{transport="tcp",reason="truncated"}', 0) >= 1)
    check("UDP datagrams are counted and kernel drops exposed",
          m.get('hygie_ingest_events_total{transport="udp"}') == 20 and "hygie_syslog_udp_kernel_drops" in m)
    check("malformed HTTP bodies are counted", m.get('hygie_ingest_rejected_total{transport="http",reason="malformed"}', 0) >= 4)
    check("unauthenticated HTTP bodies are counted", m.get('hygie_ingest_rejected_total{transport="http",reason="unauthenticated"}', 0) >= 2)
    with urllib.request.urlopen(base + "/health/ready", timeout=5) as response:
        check("the server is still healthy after the malformed input", response.status == 200)
    server.stop()

    # Spool quota: a receive-only node with 1 MB of spool answers 503 + Retry-After, then drains once detection runs.
    env_full = dict(env, HYGIE_INGEST_SPOOL_QUOTA_MB="1", HYGIE_DETECTION_ENABLED="false")
    env_full.pop("HYGIE_SYSLOG_UDP")
    env_full.pop("HYGIE_SYSLOG_TCP")
    server = Server(BINARY, work, env=env_full).start()
    accepted, refused = 0, None
    for body in batches(10_000, 250):
        status, _, headers = post(server.base, token, body)
        if status == 202:
            accepted += 250
        else:
            refused = (status, headers.get("Retry-After"))
            break
    check("a full spool answers 503 with Retry-After, never a silent drop", refused == (503, "5"), refused)
    m = metrics(server.base)
    check("spool-full refusals are counted", m.get('hygie_ingest_rejected_total{transport="http",reason="spool_full"}', 0) == 250)
    server.stop()
    before = source_events(work, env, "winlogbeat")
    server = Server(BINARY, work, env=dict(env_full, HYGIE_DETECTION_ENABLED="true")).start()
    drained = wait_for(lambda: source_events(work, env, "winlogbeat") >= before + accepted)
    check("the spool drains into detection once a worker runs", drained)
    status, _, _ = post(server.base, token, good)
    check("ingestion is accepted again once the spool drained", status == 202, status)
    server.stop()


class Sink:
    """A loopback webhook receiver and SMTP server that record what Hygie sends."""

    def __init__(self):
        import http.server
        self.posts = []
        sink = self

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.posts.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.smtp = SMTPSink()
        self.mails = self.smtp.mails

    def close(self):
        self.http.shutdown()
        self.smtp.close()


def certificates(directory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate named fw-tls.chu.example."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=directory, capture_output=True, check=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Hygie test CA")
    for name, cn in [("server", "127.0.0.1"), ("client", "fw-tls.chu.example")]:
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
        with open(os.path.join(directory, f"{name}.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n" if name == "server" else "extendedKeyUsage=clientAuth\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")


def scenario_notifications_and_tls(env_base):
    """Webhook (HMAC-signed) and e-mail notifications of a new alert; syslog over TLS with a client certificate."""
    import hashlib
    import hmac
    import ssl
    work, env, token = setup("det_notify", env_base)
    sink = Sink()
    configured = cli(work, "detection-settings", "-e", FINESS, "--webhook-url", f"http://127.0.0.1:{sink.http.server_address[1]}/hook",
                     "--email", "soc@valbrune.example", "--notify-from", "high", env=env)
    secret = re.search(r"signing secret \(shown once\): (\S+)", configured.stdout)
    check("a webhook URL gets a signing secret shown once", secret is not None, configured.stdout + configured.stderr)
    certs = tempfile.mkdtemp(prefix="hygie-e2e-certs-")
    certificates(certs)
    cli(work, "sources", "add", "-e", FINESS, "--name", "fw-tls", "--kind", "syslog", "--sender", "cn:fw-tls.chu.example", env=env)
    tls_port = free_port()
    env.update({
        "HYGIE_SMTP_HOST": "127.0.0.1", "HYGIE_SMTP_PORT": str(sink.smtp.port), "HYGIE_SMTP_SECURITY": "none",
        "HYGIE_SMTP_FROM": "hygie@valbrune.example", "HYGIE_SYSLOG_TLS": f"127.0.0.1:{tls_port}",
        "HYGIE_SYSLOG_TLS_CERTIFICATE": f"{certs}/server.pem", "HYGIE_SYSLOG_TLS_KEY": f"{certs}/server.key",
        "HYGIE_SYSLOG_TLS_CLIENT_CA": f"{certs}/ca.pem",
    })
    server = Server(BINARY, work, env=env).start()
    status, _, _ = post(server.base, token, (json.dumps(hl7_shell(0)) + "\n").encode())
    check("an alerting event is accepted", status == 202)

    context = ssl.create_default_context(cafile=f"{certs}/ca.pem")
    context.load_cert_chain(f"{certs}/client.pem", f"{certs}/client.key")
    with socket.create_connection(("127.0.0.1", tls_port)) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
            message = b"<13>1 2026-11-29T06:20:06Z fw-tls app - - - over tls"
            conn.sendall(str(len(message)).encode() + b" " + message)
    received = wait_for(lambda: source_events(work, env, "fw-tls") >= 1, timeout=30)
    check("syslog over TLS is attributed to the source named by the client certificate", received)
    anonymous = ssl.create_default_context(cafile=f"{certs}/ca.pem")
    refused = False
    try:
        with socket.create_connection(("127.0.0.1", tls_port)) as raw:
            with anonymous.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
                conn.sendall(b"5 hello")
                refused = conn.recv(10) == b""
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        refused = True
    check("a TLS client without a certificate is refused", refused)

    # The notification job runs every minute.
    delivered = wait_for(lambda: sink.posts and sink.mails, timeout=150, step=1)
    check("the webhook and the e-mail are delivered within two minutes", delivered, (len(sink.posts), len(sink.mails)))
    if sink.posts:
        headers, body = sink.posts[0]
        signature = {k.lower(): v for k, v in headers.items()}.get("x-hygie-signature", "")
        expected = "sha256=" + hmac.new(secret.group(1).encode(), body, hashlib.sha256).hexdigest() if secret else ""
        check("the webhook body is signed with HMAC-SHA256", signature == expected, signature)
        payload = json.loads(body)
        check("the webhook lists the alert with its rule and author",
              payload["alerts"][0]["rule_author"] == "Hygie project" and "HL7" in payload["alerts"][0]["rule"], payload)
    if sink.mails:
        import email
        import email.header
        mail = email.message_from_string(sink.mails[0])
        subject = str(email.header.make_header(email.header.decode_header(mail["Subject"])))
        text = mail.get_payload(decode=True).decode()
        check("the e-mail names the alert", subject.startswith("[Hygie] HIGH") and "HL7" in text and mail["To"] == "soc@valbrune.example",
              (subject, text[:300]))
    server.stop()
    sink.close()


def scenario_two_nodes(env_base):
    """Two nodes on one PostgreSQL database, each receiving half of the stream: one alert per host, no duplicate."""
    work_a = tempfile.mkdtemp(prefix="hygie-e2e-det-node-a-")
    work_b = tempfile.mkdtemp(prefix="hygie-e2e-det-node-b-")
    env = dict(env_base, HYGIE_DATABASE_URL=fresh_database("det_nodes"))
    cli(work_a, "migrate", env=env)
    token = prepare(work_a, env)
    node_a = Server(BINARY, work_a, env=env).start()
    node_b = Server(BINARY, work_b, env=env).start()
    bodies = batches(10_000, 250)
    threads = [
        threading.Thread(target=lambda node, part: [post(node.base, token, b) for b in part], args=(node, bodies[k::2]))
        for k, node in enumerate([node_a, node_b])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(lambda: source_events(work_a, env, "winlogbeat") >= 10_000)
    found = alert_summary(alerts(work_a, env))
    check(
        "two nodes share the work without duplicate alerts",
        len(found) == len(HOSTS) and sum(a[3] for a in found) == 1_000, found)
    node_a.stop()
    node_b.stop()


def main():
    env = {"HYGIE_SECURITY_BCRYPT_COST": "4", "HYGIE_SECURITY_SECRET_KEY": "c2hhcmVkLWluc3RhbmNlLWtleS0zMi1ieXRlcy0hISE="}
    scenario_clean_and_crash(env)
    scenario_malformed_and_syslog(env)
    scenario_notifications_and_tls(env)
    if PG_URL:
        scenario_two_nodes(env)


if __name__ == "__main__":
    report.run(main)
