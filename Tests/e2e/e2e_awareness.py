#!/usr/bin/env python3
"""End-to-end phishing simulation and training with the real `hygie` binary (SQLite, or PostgreSQL with --postgres).

Every SMTP path of Hygie's own sender against real servers on loopback: aiosmtpd requiring STARTTLS then AUTH PLAIN,
aiosmtpd over implicit TLS offering only AUTH LOGIN, an aiosmtpd that answers 451 (retried) and 550 (recorded per
recipient), and Debian's Postfix (STARTTLS, scripts/postfix.sh). The messages are parsed with Python's email package:
multipart/alternative, an attachment, RFC 2047 subjects with accents, quoted-printable, custom headers, one rid per
recipient. Then the tracking endpoints, GoPhish results, scanner flags, the command line (programme, imports with a
broken CSV, campaigns, show, complete), training through a personal link (quiz, certificate) and the audit trail.

Usage: e2e_awareness.py BINARY [--postgres URL] [--postfix]   (run with the Python of .venv-conformance: aiosmtpd)
Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""
import email
import email.policy
import json
import logging
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings

sys.path.insert(0, os.path.dirname(__file__))
from hygie_client import Browser, Report, Server, api, free_port  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402

warnings.filterwarnings("ignore")  # aiosmtpd's advice about AUTH without STARTTLS: this server is TLS throughout
logging.getLogger("mail.log").setLevel(logging.ERROR)
BINARY = sys.argv[1]
PG_URL = sys.argv[sys.argv.index("--postgres") + 1] if "--postgres" in sys.argv else None
POSTFIX = "--postfix" in sys.argv
ENGINE = "postgres" if PG_URL else "sqlite"
report = Report(f"awareness-{ENGINE}")
check = report.check
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {"HYGIE_SECURITY_BCRYPT_COST": "4", "HYGIE_LOG_LEVEL": "warning", "HYGIE_INGEST_ENABLED": "false"}


class Sink:
    """aiosmtpd handler: keeps envelopes, who authenticated, and answers 451 once / 550 always for chosen rcpts."""

    def __init__(self, temporary=(), permanent=()):
        self.messages = []
        self.temporary = set(temporary)
        self.permanent = set(permanent)
        self.seen = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.permanent:
            return "550 5.1.1 mailbox unavailable"
        if address in self.temporary and address not in self.seen:
            self.seen.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({
                "from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": envelope.original_content,
                "authenticated": bool(session.authenticated), "tls": session.ssl is not None,
            })
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"hygie-relay" and auth_data.password == "Relais-Sécurisé-42".encode()
    return AuthResult(success=ok, handled=False)


def tls_context(work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    return predicate()


def main():
    work = tempfile.mkdtemp(prefix="hygie-e2e-awareness-")
    env = dict(ENV)
    if PG_URL:
        subprocess.run(["psql", PG_URL, "-qc", "DROP DATABASE IF EXISTS hygie_e2e_awareness WITH (FORCE)"], check=True,
                       capture_output=True)
        subprocess.run(["psql", PG_URL, "-qc", "CREATE DATABASE hygie_e2e_awareness"], check=True, capture_output=True)
        env["HYGIE_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/hygie_e2e_awareness"
        env["HYGIE_DATABASE_AUTO_MIGRATE"] = "true"
    full_env = dict(os.environ, **env)

    def hygie(*args, stdin=None):
        return subprocess.run([BINARY, *args, "--data-dir", os.path.join(work, "data")], capture_output=True, text=True,
                              env=full_env, input=stdin)

    est = hygie("establishments", "add", "--name", "CH Sensibilisation", "--finess", "999000041").stdout.strip()
    hygie("establishments", "add-member", "-e", est, "--email", "rssi@sensib.example", "--name", "RSSI", "--role",
          "rssi", stdin="Sensibilisation-Test-2026!\n")
    key = hygie("token", "create", "-e", est, "--user", "rssi@sensib.example", "--name", "e2e").stdout.strip()
    check("the CLI creates an API token for a member", key.startswith("hyg_"), key[:8])
    refused = hygie("awareness", "programme", "-e", est, "--informed-on", "31/12/2025")
    check("a malformed programme date is refused with a message and a non-zero exit",
          refused.returncode != 0 and "YYYY-MM-DD" in refused.stderr + refused.stdout, refused.stderr)

    server = Server(BINARY, os.path.join(work, "data"), env=env).start()
    base = server.base

    def gophish(method, path, payload=None):
        return api(base, method, path, token=key, payload=payload)

    context = tls_context(work)
    starttls_sink = Sink()
    starttls = Controller(starttls_sink, hostname="127.0.0.1", port=free_port(), tls_context=context,
                          require_starttls=True, auth_required=True, auth_require_tls=True, authenticator=authenticator)
    implicit_sink = Sink()
    # The whole connection is TLS: aiosmtpd's auth_require_tls only knows STARTTLS, hence False.
    implicit = Controller(implicit_sink, hostname="127.0.0.1", port=free_port(), ssl_context=context,
                          auth_required=True, auth_require_tls=False, authenticator=authenticator,
                          auth_exclude_mechanism=["PLAIN"])
    flaky_sink = Sink(temporary={"retry@sensib.example"}, permanent={"ancien@sensib.example"})
    flaky = Controller(flaky_sink, hostname="127.0.0.1", port=free_port())
    for controller in (starttls, implicit, flaky):
        controller.start()
    postfix_port = free_port()
    maillog = None
    try:
        # Campaigns cannot start before the programme is declared.
        status, _ = gophish("POST", "/api/groups/", {"name": "g0", "targets": [{"email": "a@sensib.example"}]})
        hygie_ok = hygie("awareness", "programme", "-e", est, "--informed-on", "2026-01-05", "--representatives-on",
                         "2025-12-10", "--approver", "Directeur général", "--retention-months", "12")
        check("the programme is recorded from the CLI", hygie_ok.returncode == 0 and "Directeur général" in hygie_ok.stdout,
              hygie_ok.stderr)

        csv_bad = os.path.join(work, "bad.csv")
        with open(csv_bad, "w", encoding="utf-8") as f:
            f.write("Prénom;Nom;Courriel;Fonction;Service\nAnne;Roy;anne@sensib.example;IDE;Urgences\nBob;Lee;bob@;IDE;Urgences\n")
        bad = hygie("awareness", "import-group", "-e", est, "--name", "Cassé", csv_bad)
        check("a CSV with a bad line is refused, naming the line, and imports nothing",
              bad.returncode != 0 and "line 3" in bad.stderr + bad.stdout
              and "Cassé" not in hygie("awareness", "groups", "-e", est).stdout, bad.stderr + bad.stdout)
        people = [("Élodie", "Fèvre", "elodie@sensib.example", "Urgences"), ("Noël", "Roy", "noel@sensib.example", "Urgences"),
                  ("Retry", "Later", "retry@sensib.example", "Pharmacie"), ("Ancien", "Compte", "ancien@sensib.example", "Pharmacie")]
        csv_good = os.path.join(work, "good.csv")
        with open(csv_good, "w", encoding="utf-8") as f:
            f.write("Prénom;Nom;Courriel;Fonction;Service;Rôle;Langue\n")
            for first, last, mail, dept in people:
                f.write(f"{first};{last};{mail};Infirmier·e;{dept};soignant;fr\n")
        good = hygie("awareness", "import-group", "-e", est, "--name", "Équipe", csv_good)
        check("a French spreadsheet imports as a group", good.returncode == 0 and "4 targets" in good.stdout, good.stderr)

        attachment = "Facture de régularisation".encode()
        status, template = gophish("POST", "/api/templates/", {
            "name": "Régularisation", "subject": "{{.FirstName}}, régularisation de votre prime été",
            "text": "Bonjour {{.FirstName}},\n.une ligne qui commence par un point\nVoir {{.URL}}\n" + "é" * 120,
            "html": "<p>Bonjour {{.FirstName}} {{.LastName}}</p><p><a href=\"{{.URL}}\">Consulter</a></p>{{.Tracker}}",
            "attachments": [{"name": "facture été.txt", "type": "text/plain",
                             "content": __import__("base64").b64encode(attachment).decode()}]})
        check("a template with an attachment is saved", status == 201, template)
        status, _ = gophish("POST", "/api/pages/", {"name": "Portail", "html": "<form><input name=\"login\"><input type=\"password\" name=\"pw\"></form>",
                                                    "capture_credentials": False})
        check("a landing page is saved", status == 201)

        profiles = {
            "starttls": {"host": f"127.0.0.1:{starttls.port}", "security": "starttls", "username": "hygie-relay",
                         "password": "Relais-Sécurisé-42", "ignore_cert_errors": True},
            "implicit": {"host": f"127.0.0.1:{implicit.port}", "security": "tls", "username": "hygie-relay",
                         "password": "Relais-Sécurisé-42", "ignore_cert_errors": True},
            "flaky": {"host": f"127.0.0.1:{flaky.port}", "security": "none"},
        }
        if POSTFIX:
            out = subprocess.run([os.path.join(ROOT, "scripts", "postfix.sh"), "start", str(postfix_port)],
                                 capture_output=True, text=True)
            maillog = out.stdout.strip() if out.returncode == 0 else None
            check("Debian's Postfix starts on loopback", maillog is not None, out.stdout + out.stderr)
            profiles["postfix"] = {"host": f"127.0.0.1:{postfix_port}", "security": "starttls", "ignore_cert_errors": True}
        for name, profile in profiles.items():
            status, body = gophish("POST", "/api/smtp/", dict(profile, name=name, from_address="Service RH <rh@sensib.example>",
                                                              headers=[{"key": "X-Campagne", "value": "e2e-" + name}]))
            check(f"sending profile {name} is saved (password never answered)", status == 201 and
                  "Relais" not in json.dumps(body), body)

        def launch(name, profile):
            status, body = gophish("POST", "/api/campaigns/", {
                "name": name, "groups": [{"name": "Équipe"}], "template": {"name": "Régularisation"},
                "page": {"name": "Portail"}, "smtp": {"name": profile}, "url": base})
            check(f"campaign {name} launches", status == 201, body)
            return body if isinstance(body, dict) else {}

        def parsed(sink):
            return [email.message_from_bytes(m["data"], policy=email.policy.default) for m in sink.messages]

        for name, sink in (("starttls", starttls_sink), ("implicit", implicit_sink)):
            campaign = launch(f"C-{name}", name)
            got = wait_for(lambda: len(sink.messages) >= 4 and sink.messages)
            check(f"{name}: one message per recipient over TLS, authenticated",
                  len(got or []) == 4 and all(m["tls"] or name == "implicit" for m in got)
                  and all(m["authenticated"] for m in got), [(m["tls"], m["authenticated"]) for m in got or []])
            messages = parsed(sink)
            first = next((m for m in messages if "elodie@" in str(m["To"])), None)
            check(f"{name}: subject with accents decodes (RFC 2047)",
                  first is not None and str(first["Subject"]) == "Élodie, régularisation de votre prime été", first and first["Subject"])
            check(f"{name}: mixed around alternative text and HTML, the attachment named in UTF-8",
                  first is not None and first.get_content_type() == "multipart/mixed"
                  and any(p.get_content_type() == "multipart/alternative" for p in first.walk())
                  and any(p.get_filename() == "facture été.txt" and p.get_payload(decode=True) == attachment
                          for p in first.walk()))
            body = first.get_body(("plain",)).get_content() if first else ""
            check(f"{name}: quoted-printable text survives, leading dot and long lines included",
                  ".une ligne qui commence par un point" in body and "é" * 120 in body, body[:200])
            raw = next((m["data"] for m in sink.messages if "elodie@" in "".join(m["to"])), b"")
            check(f"{name}: lines are CRLF-terminated and at most 998 octets",
                  b"\n" not in raw.replace(b"\r\n", b"") and all(len(line) <= 998 for line in raw.split(b"\r\n")))
            check(f"{name}: envelope sender and custom header from the profile",
                  all(m["from"] == "rh@sensib.example" for m in sink.messages) and first is not None
                  and first["X-Campagne"] == f"e2e-{name}")
            rids = {r["email"]: r["id"] for r in campaign.get("results", [])}
            links = {}
            for m, message in zip(sink.messages, messages):
                text = "".join(p.get_content() for p in message.walk() if p.get_content_type() in ("text/plain", "text/html"))
                links[m["to"][0]] = re.findall(r"rid=([A-Za-z0-9]{7})", text)
            check(f"{name}: each message carries its recipient's rid", all(set(links[e]) == {r} for e, r in rids.items()), links)

        campaign = launch("C-flaky", "flaky")
        wait_for(lambda: len(flaky_sink.messages) >= 2)
        time.sleep(2)
        status, results = gophish("GET", f"/api/campaigns/{campaign.get('id')}/results")
        by_email = {r["email"]: r for r in (results or {}).get("results", [])}
        check("a 550 is recorded against its recipient", by_email.get("ancien@sensib.example", {}).get("status") == "Error",
              by_email)
        check("a 451 leaves the recipient waiting for a retry, not failed",
              by_email.get("retry@sensib.example", {}).get("status") == "Scheduled", by_email)
        errors = [e for e in results.get("timeline", []) if e["message"] == "Error Sending Email"]
        check("the refusal is in the timeline with the server's answer", errors and "550" in errors[0]["details"], errors)

        if POSTFIX and maillog:
            launch("C-postfix", "postfix")
            delivered = wait_for(lambda: open(maillog).read().count("status=sent") >= 4 if os.path.exists(maillog) else False, 40)
            log = open(maillog).read() if os.path.exists(maillog) else ""
            check("Postfix accepts the four messages over STARTTLS", delivered and "starttls=1" in log, log[-500:])

        # Recipients act: the STARTTLS campaign.
        status, campaigns = gophish("GET", "/api/campaigns/")
        first = next(c for c in campaigns if c["name"] == "C-starttls")
        rids = {r["email"]: r["id"] for r in first["results"]}
        browser = Browser(base)
        time.sleep(10)  # a person, not a gateway: clicks within 10 s of delivery count as a scanner's
        browser.get(f"/track?rid={rids['elodie@sensib.example']}", headers={"User-Agent": "Mozilla/5.0"})
        page = browser.get(f"/?rid={rids['noel@sensib.example']}", headers={"User-Agent": "Mozilla/5.0"})
        check("the landing page is served, its password field unnamed", page.status == 200 and 'name="pw"' not in page.text)
        post = browser.request("POST", f"/?rid={rids['noel@sensib.example']}", data={"login": "noel", "pw": "Secret!"},
                               headers={"User-Agent": "Mozilla/5.0"})
        check("the form answers 302 to Hygie's 'you were phished' page", post.status == 302 and
              post.headers.get("Location", "").endswith("/phished"), post.headers.get("Location"))
        lesson = browser.get("/phished")
        check("the 'you were phished' page explains what to look for", lesson.status == 200 and "signal" in lesson.text.lower())
        browser.request("HEAD", f"/?rid={rids['retry@sensib.example']}", headers={"User-Agent": "Mozilla/5.0"})
        reported = browser.get(f"/report?rid={rids['elodie@sensib.example']}")
        check("a report answers 204 with CORS", reported.status == 204 and reported.headers.get("Access-Control-Allow-Origin") == "*")
        time.sleep(1)
        status, results = gophish("GET", f"/api/campaigns/{first['id']}/results")
        statuses = {r["email"]: r["status"] for r in results["results"]}
        check("GoPhish statuses rise", statuses.get("elodie@sensib.example") == "Email Opened"
              and statuses.get("noel@sensib.example") == "Submitted Data", statuses)
        timeline = results["timeline"]
        head = [e for e in timeline if e["message"] == "Clicked Link" and e["email"] == "retry@sensib.example"]
        check("a HEAD request is recorded as a scanner's", head and "HEAD request" in head[0]["details"], head)
        submitted = [e for e in timeline if e["message"] == "Submitted Data"]
        check("the submission keeps field names, never values or passwords", submitted and "Secret" not in json.dumps(timeline)
              and '"noel"' not in submitted[0]["details"] and "fields_filled" in submitted[0]["details"], submitted)
        status, overview = api(base, "GET", "/api/v1/awareness/overview", token=key)
        figures = next(c for c in overview["campaigns"] if c["name"] == "C-starttls")["figures"]
        check("Hygie's figures leave the scanner out", figures["clicked"] == 1 and figures["submitted"] == 1
              and figures["reported"] == 1, figures)

        listing = hygie("awareness", "campaigns", "-e", est)
        check("the CLI lists campaigns with GoPhish's counts", "C-starttls" in listing.stdout and "1 submitted" in listing.stdout,
              listing.stdout)
        shown = hygie("awareness", "show", "-e", est, str(first["id"]))
        check("the CLI shows results and the timeline", "Submitted Data" in shown.stdout and "(scanner)" in shown.stdout)
        done = hygie("awareness", "complete", "-e", est, str(first["id"]))
        check("the CLI completes a campaign", "Completed" in done.stdout, done.stderr)
        check("a completed campaign's links answer 404", wait_for(
            lambda: browser.get(f"/?rid={rids['elodie@sensib.example']}").status == 404, 10))

        # Training through a personal link.
        status, body = api(base, "POST", "/api/v1/awareness/assignments", token=key,
                           payload={"module": "phishing", "due_on": "2099-01-01", "department": "Urgences"})
        check("a module is assigned to a department", status == 201 and body.get("created", 0) >= 1, body)
        status, link = api(base, "POST", "/api/v1/awareness/links", token=key, payload={"email": "elodie@sensib.example"})
        path = urllib.parse.urlsplit(link.get("url", "")).path
        learner = Browser(base)
        portal = learner.get(path)
        check("the personal link opens 'my trainings'", portal.status == 200 and "Reconnaître un courriel" in portal.text)
        module = learner.get(path + "/phishing")
        token = re.search(r'name="_csrf" value="([^"]+)"', module.text)
        check("the module shows the lesson and the quiz", module.status == 200 and "Les signes d" in module.text and token)
        wrong = learner.post(path + "/phishing", {"_csrf": token.group(1) if token else ""})
        check("a blank quiz does not pass", wrong.status == 200 and "pas encore" in wrong.text)
        answers = {"q0-1": "1", "q1-0": "1", "q1-1": "1", "q1-3": "1", "q2-1": "1", "q3-2": "1", "q4-1": "1"}
        token = re.search(r'name="_csrf" value="([^"]+)"', wrong.text)  # every page brings a fresh token
        right = learner.post(path + "/phishing", dict(answers, _csrf=token.group(1) if token else ""))
        check("the right answers pass and give a certificate", "réussi" in right.text and "/certificate" in right.text, right.text[-500:])
        certificate = learner.get(path + "/phishing/certificate")
        check("the certificate names the person and the module", certificate.status == 200 and "Élodie Fèvre" in certificate.text
              and "Attestation" in certificate.text)
        check("a forged link is not found", Browser(base).get("/training/t/" + "x" * 32).status == 404)
        audit = hygie("audit", "verify")
        check("the audit chain verifies", audit.returncode == 0, audit.stdout + audit.stderr)
        log = server.output()
        check("no secret in the server log", "Relais-Sécurisé-42" not in log and key not in log)
    finally:
        for controller in (starttls, implicit, flaky):
            controller.stop()
        if POSTFIX:
            subprocess.run([os.path.join(ROOT, "scripts", "postfix.sh"), "stop"], capture_output=True)
        check("server stops cleanly", server.stop() == 0)


if __name__ == "__main__":
    report.run(main)
