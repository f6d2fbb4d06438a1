#!/usr/bin/env python3
"""End-to-end staff reports with the real `hygie` binary (SQLite, or PostgreSQL with --postgres).

A nurse forwards a phishing e-mail (as attachment) to the report address: Python's smtplib talks to Hygie's SMTP
report receiver, which routes by recipient, triages and stores the report. Then: the verdict and reasons through the
API, the same campaign reported again through the API as an Outlook .msg in Microsoft's report format (clustered),
the analyst's decision, the reporter's acknowledgement and verdict delivered to an aiosmtpd relay and read back with
Python's email package, refused deliveries (unknown address, oversized, not a message) with their SMTP replies, bad
uploads (not a message 422, over the limit 413), the web pages (report form and triage queue) and the CLI.

Usage: e2e_reports.py BINARY [--postgres URL]   (run with the Python of .venv-conformance: aiosmtpd)
Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""
import base64
import email
import email.policy
import logging
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from hygie_client import Report, Server, api, free_port  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402

logging.getLogger("mail.log").setLevel(logging.ERROR)
BINARY = sys.argv[1]
PG_URL = sys.argv[sys.argv.index("--postgres") + 1] if "--postgres" in sys.argv else None
ENGINE = "postgres" if PG_URL else "sqlite"
report = Report(f"reports-{ENGINE}")
check = report.check
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "Tests", "MailTriageTests", "Fixtures")


def corpus(name):
    with open(os.path.join(CORPUS, name), "rb") as handle:
        return handle.read()


class Sink:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def main():
    work = tempfile.mkdtemp(prefix="hygie-e2e-reports-")
    sink = Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    receiver_port = free_port()
    env = {
        "HYGIE_SECURITY_BCRYPT_COST": "4", "HYGIE_LOG_LEVEL": "warning", "HYGIE_INGEST_ENABLED": "false",
        "HYGIE_SMTP_HOST": "127.0.0.1", "HYGIE_SMTP_PORT": str(relay.port), "HYGIE_SMTP_SECURITY": "none",
        "HYGIE_SMTP_FROM": "securite@chu-valbrune.fr", "HYGIE_INCIDENTS_SMTP_LISTEN": f"127.0.0.1:{receiver_port}",
        "HYGIE_INCIDENTS_MAX_REPORT_BYTES": str(2 << 20),
    }
    if PG_URL:
        subprocess.run(["psql", PG_URL, "-qc", "DROP DATABASE IF EXISTS hygie_e2e_reports WITH (FORCE)"], check=True,
                       capture_output=True)
        subprocess.run(["psql", PG_URL, "-qc", "CREATE DATABASE hygie_e2e_reports"], check=True, capture_output=True)
        env["HYGIE_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/hygie_e2e_reports"
        env["HYGIE_DATABASE_AUTO_MIGRATE"] = "true"
    full_env = dict(os.environ, **env)

    def hygie(*args, stdin=None):
        return subprocess.run([BINARY, *args, "--data-dir", os.path.join(work, "data")], capture_output=True,
                              text=True, env=full_env, input=stdin)

    est = hygie("establishments", "add", "--name", "CHU Valbrune", "--finess", "999000058").stdout.strip()
    hygie("establishments", "add-member", "-e", est, "--email", "rssi@chu-valbrune.fr", "--name", "RSSI", "--role",
          "rssi", stdin="Signalement-Test-2026!\n")
    hygie("establishments", "add-member", "-e", est, "--email", "infirmiere@chu-valbrune.fr", "--name",
          "Claire Martin", "--role", "staff", stdin="Signalement-Test-2026!\n")
    key = hygie("token", "create", "-e", est, "--user", "rssi@chu-valbrune.fr", "--name", "e2e").stdout.strip()
    hygie("intel", "settings", "-e", est, "--own-domains", "chu-valbrune.fr")
    settings = hygie("cases", "settings", "-e", est, "--protected-domains", "ght-valbrune.fr,ameli.fr",
                     "--report-addresses", "signalement@chu-valbrune.fr")
    check("the CLI records the triage settings", "signalement@chu-valbrune.fr" in settings.stdout,
          settings.stderr or settings.stdout)
    bad = hygie("cases", "settings", "-e", est, "--report-addresses", "not-an-address")
    check("a malformed report address is refused with a message and a non-zero exit",
          bad.returncode != 0 and "not an e-mail address" in bad.stderr + bad.stdout, bad.stderr)

    server = Server(BINARY, os.path.join(work, "data"), env=env).start()
    base = server.base
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                smtplib.SMTP("127.0.0.1", receiver_port, timeout=2).quit()
                break
            except OSError:
                time.sleep(0.2)

        # 1. The nurse forwards the phishing message as an attachment to the report address.
        with smtplib.SMTP("127.0.0.1", receiver_port, timeout=20) as smtp:
            code, _ = smtp.ehlo("mx1.chu-valbrune.fr")
            check("the report receiver answers EHLO and announces its size limit",
                  code == 250 and smtp.has_extn("size"), smtp.esmtp_features)
            refused = smtp.sendmail("infirmiere@chu-valbrune.fr", ["signalement@chu-valbrune.fr"],
                                    corpus("forwarded-as-attachment.eml"))
            check("the forwarded report is accepted", refused == {}, refused)
            try:
                smtp.sendmail("x@chu-valbrune.fr", ["direction@chu-valbrune.fr"], b"Subject: x\r\n\r\nx")
                check("an address that is not a report address is refused", False)
            except smtplib.SMTPRecipientsRefused as error:
                reply = error.recipients["direction@chu-valbrune.fr"]
                check("an address that is not a report address is refused", reply[0] == 550, reply)
            try:
                smtp.sendmail("x@chu-valbrune.fr", ["signalement@chu-valbrune.fr"], b"just text, no headers\r\n")
                check("something that is not a message gets a clear SMTP error", False)
            except smtplib.SMTPDataError as error:
                check("something that is not a message gets a clear SMTP error",
                      error.smtp_code == 554 and b"not an e-mail message" in error.smtp_error, error)
            try:
                smtp.sendmail("x@chu-valbrune.fr", ["signalement@chu-valbrune.fr"],
                              b"Subject: big\r\n\r\n" + b"A" * 76 * 40_000)
                check("an oversized report is refused with 552", False)
            except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
                check("an oversized report is refused with 552", error.smtp_code == 552, error)

        status, reports = api(base, "GET", "/api/v1/reports", token=key)
        first = reports[0] if status == 200 and reports else {}
        check("the SMTP report is stored with a malicious verdict",
              first.get("verdict") == "malicious" and first.get("channel") == "smtp", first)
        check("the reporter is the member who forwarded it",
              first.get("reporter_email") == "infirmiere@chu-valbrune.fr" and first.get("reporter_name") == "Claire Martin",
              first)
        codes = {reason["code"] for reason in first.get("reasons", [])}
        check("the reasons name the look-alike domain, DMARC and the executable in the zip",
              {"lookalike_domain", "dmarc_fail", "attachment_executable_in_archive"} <= codes, codes)
        status, detail = api(base, "GET", f"/api/v1/reports/{first.get('id')}", token=key)
        analysis = detail.get("analysis", {}) if status == 200 else {}
        check("the analysis keeps the Received chain, authentication and attachment hashes",
              len(analysis.get("hops", [])) == 2 and analysis.get("authentication", {}).get("spf") == "fail"
              and len(analysis.get("attachments", [{}])[0].get("sha256", "")) == 64, analysis.keys())
        status, raw = api(base, "GET", f"/api/v1/reports/{first.get('id')}/message", token=key)
        check("the reported message can be downloaded as received",
              status == 200 and raw == corpus("forwarded-as-attachment.eml"), status)

        # 2. The same campaign through Outlook's report button (Microsoft's format, .msg inside), via the API.
        status, created = api(base, "POST", "/api/v1/reports", token=key, raw=corpus("microsoft-report-msg.eml"),
                              headers={"Content-Type": "message/rfc822"})
        second = created[0] if status == 201 and created else {}
        check("an Outlook report (Microsoft format with a .msg) joins the campaign",
              second.get("category") == "phishing" and second.get("cluster_id") == first.get("id"), created)
        status, body = api(base, "POST", "/api/v1/reports", token=key, raw=b"%PDF-1.4 not a message",
                           headers={"Content-Type": "application/octet-stream"})
        check("an upload that is not a message gets 422 with a message",
              status == 422 and "not an e-mail message" in str(body), (status, body))
        # curl stops sending when the server answers early (urllib would keep writing).
        big = os.path.join(work, "big.eml")
        with open(big, "wb") as handle:
            handle.write(b"From: a@chu-valbrune.fr\r\nSubject: scan\r\nContent-Type: application/pdf\r\n\r\n")
            handle.write(b"A" * (50 << 20))
        out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "--max-time", "60", "-X", "POST",
                              "-H", "Content-Type: message/rfc822", "-H", f"Authorization: Bearer {key}",
                              "--data-binary", f"@{big}", base + "/api/v1/reports"], capture_output=True, text=True).stdout
        check("a 50 MB upload gets 413 with the limit", out.endswith("413") and "larger than" in out, out[-200:])
        status, body = api(base, "POST", "/api/v1/reports", token=key,
                           payload={"kind": "usb", "description": "Clé USB trouvée au bloc B"})
        check("a USB report is stored without a verdict", status == 201 and body[0].get("verdict") is None, body)
        status, body = api(base, "POST", "/api/v1/reports", token=key,
                           payload={"kind": "email", "message_base64": base64.b64encode(corpus("legitimate.eml")).decode()})
        check("a legitimate message is safe", status == 201 and body[0]["verdict"] == "safe", body)

        # 3. The analyst decides for the campaign; reporters are thanked and told.
        status, decided = api(base, "POST", f"/api/v1/reports/{first.get('id')}/verdict", token=key,
                              payload={"verdict": "malicious", "note": "Bloqué sur la passerelle", "cluster": True})
        check("the analyst's verdict is recorded", status == 200 and decided.get("decided_by"), decided)
        out = hygie("cases", "notify")
        check("the notification run sends the messages", out.returncode == 0 and "sent" in out.stdout,
              out.stderr or out.stdout)
        with sink.lock:
            delivered = list(sink.messages)
        to_nurse = [email.message_from_bytes(data, policy=email.policy.default) for rcpts, data in delivered
                    if rcpts == ["infirmiere@chu-valbrune.fr"]]
        texts = [m.get_body(("plain",)).get_content() for m in to_nurse]
        check("the nurse is told, in French, that it was a real attack, with the analyst's note",
              any("véritable attaque" in t and "Bloqué sur la passerelle" in t for t in texts), texts)
        out = hygie("cases", "notify")
        check("nobody is told twice", out.stdout.strip().startswith("0 "), out.stdout)

        # 4. The campaign becomes a case; its declarations start with the right deadlines.
        out = hygie("cases", "regimes", "-e", est, "--nis2", "essential", "--entity", "name=CHU Valbrune",
                    "--entity", "finess_ej=999000058")
        check("the CLI records the regimes (NIS2 essential entity)", "essential" in out.stdout, out.stderr or out.stdout)
        status, opened = api(base, "POST", "/api/v1/cases", token=key,
                             payload={"report_id": first.get("id"), "type": "compromised_account"})
        case = opened.get("case", {}) if status == 201 else {}
        check("a case opens from the report with the campaign linked and its indicators",
              len([l for l in opened.get("links", []) if l["kind"] == "report"]) == 2
              and any(o["value"] == "chu-va1brune.fr" and o["ioc"] for o in opened.get("observables", [])), opened)
        check("the case starts with its template's tasks", len(opened.get("tasks", [])) >= 6, opened.get("tasks"))
        status, qualified = api(base, "POST", f"/api/v1/cases/{case.get('id')}/qualify", token=key,
                                payload={"significant": True, "personal_data": True, "nis2": True})
        from datetime import datetime, timedelta
        aware = datetime.fromisoformat(case.get("aware_at", "1970-01-01T00:00:00Z").replace("Z", "+00:00"))
        due = {d["regime"]: datetime.fromisoformat(d["due_at"].replace("Z", "+00:00"))
               for d in qualified.get("declarations", [])}
        check("five declarations with deadlines from awareness (24 h, 72 h, 24 h, 72 h, +30 days)",
              due.get("cert_sante") == aware + timedelta(hours=24) and due.get("cnil") == aware + timedelta(hours=72)
              and due.get("nis2_warning") == aware + timedelta(hours=24)
              and due.get("nis2_notification") == aware + timedelta(hours=72)
              and due.get("nis2_final") == aware + timedelta(hours=72, days=30), due)
        cnil = next((d for d in qualified.get("declarations", []) if d["regime"] == "cnil"), {})
        status, draft = api(base, "GET", f"/api/v1/cases/declarations/{cnil.get('id')}/draft", token=key)
        fields = {f["key"]: f["value"] for section in draft.get("sections", []) for f in section["fields"]} \
            if status == 200 else {}
        check("the CNIL draft is pre-filled from the case and the entity",
              fields.get("entity.name") == "CHU Valbrune" and fields.get("case.aware_at"), fields)
        status, sent = api(base, "POST", f"/api/v1/cases/declarations/{cnil.get('id')}/sent", token=key,
                           payload={"reference": "CNIL-2026-77"})
        check("the CNIL notification is marked sent with the hash of what was sent",
              status == 200 and sent.get("status") == "sent" and len(sent.get("snapshot_sha256", "")) == 64, sent)
        ransom = b"YOUR FILES ARE ENCRYPTED\n" * 40
        status, attached = api(base, "POST", f"/api/v1/cases/{case.get('id')}/files?name=note.txt", token=key,
                               raw=ransom, headers={"Content-Type": "text/plain"})
        status2, downloaded = api(base, "GET", f"/api/v1/cases/{case.get('id')}/files/{attached.get('id')}", token=key)
        import hashlib
        check("a file is attached through the API and comes back identical with its SHA-256",
              status == 201 and downloaded == ransom and attached.get("sha256") == hashlib.sha256(ransom).hexdigest(),
              (status, status2))
        status, noted = api(base, "POST", f"/api/v1/cases/{case.get('id')}/notes", token=key,
                            payload={"note": "Cellule de crise réunie"})
        check("a note joins the timeline", status == 201 and noted["timeline"][-1]["kind"] == "note", status)
        status, closing = api(base, "PATCH", f"/api/v1/cases/{case.get('id')}", token=key, payload={"status": "closed"})
        check("a case cannot close without its lessons learned", status == 422, (status, closing))
        listed = hygie("cases", "declarations", "-e", est)
        check("the CLI lists the declarations with their deadlines",
              listed.stdout.count("\tcase ") == 5 and "cnil\tsent" in listed.stdout, listed.stdout)

        # 5. The CLI and the pages.
        listed = hygie("cases", "reports", "-e", est, "--verdict", "malicious")
        check("the CLI lists the malicious reports", listed.stdout.count("\tmalicious\t") >= 2, listed.stdout)
        offline = subprocess.run([BINARY, "cases", "triage", os.path.join(CORPUS, "phishing.msg"), "--own-domain",
                                  "chu-valbrune.fr"], capture_output=True, text=True)
        check("offline triage of a .msg prints the verdict with defanged links",
              offline.returncode == 0 and "malicious" in offline.stdout and "hxxps://" in offline.stdout,
              offline.stdout[:300])
    finally:
        server.stop()
        relay.stop()


if __name__ == "__main__":
    report.run(main)
