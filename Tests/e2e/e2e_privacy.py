#!/usr/bin/env python3
"""End-to-end EHR access monitoring with the real `hygie` binary (SQLite, or PostgreSQL with --postgres).

A labelled synthetic hospital is written by `hygie privacy generate`; the command-line contract
(`hygie privacy analyze ... --format jsonl`) is checked field by field and its precision and recall are computed here
from labels.csv, independently of Hygie's own evaluation. Then a server receives the same hospital: context CSVs
through the API, accesses as FHIR NDJSON bulk and a transaction Bundle, an ADT transfer over MLLP (ACK read back), an
ATNA audit message over syslog TCP; it must flag exactly the accesses the offline analysis flagged. The privacy
officer reviews through the API (re-identification, a decision that opens a case, the patient's access report),
roles are enforced, and bad input gets clear errors (OperationOutcome, CLI messages and exit codes).

Usage: e2e_privacy.py BINARY [--postgres URL]
Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""
import csv
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from hygie_client import Report, Server, free_port  # noqa: E402
from hygie_client import api as plain_api  # noqa: E402

BINARY = sys.argv[1]
PG_URL = sys.argv[sys.argv.index("--postgres") + 1] if "--postgres" in sys.argv else None
ENGINE = "postgres" if PG_URL else "sqlite"
report = Report(f"privacy-{ENGINE}")
check = report.check
PATTERNS = {"vip", "same_surname", "same_address", "coworker", "self_lookup", "deceased", "no_care_relationship",
            "volume_spike", "off_hours", "break_glass_unjustified", "outside_employment"}


def api(base, method, path, **kw):
    """The client's call, with FHIR's JSON (application/fhir+json) read as JSON too."""
    status, body = plain_api(base, method, path, **kw)
    if isinstance(body, bytes) and body[:1] in (b"{", b"["):
        try:
            body = json.loads(body)
        except ValueError:
            pass
    return status, body


def mllp(port, message):
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"\x0b" + message.encode() + b"\x1c\r")
        data = b""
        while not data.endswith(b"\x1c\r"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.strip(b"\x0b\x1c\r").decode()


def main():
    work = tempfile.mkdtemp(prefix="hygie-e2e-privacy-")
    gen = os.path.join(work, "gen")
    env = {"HYGIE_SECURITY_BCRYPT_COST": "4", "HYGIE_LOG_LEVEL": "warning"}
    if PG_URL:
        subprocess.run(["psql", PG_URL, "-qc", "DROP DATABASE IF EXISTS hygie_e2e_privacy WITH (FORCE)"], check=True,
                       capture_output=True)
        subprocess.run(["psql", PG_URL, "-qc", "CREATE DATABASE hygie_e2e_privacy"], check=True, capture_output=True)
        env["HYGIE_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/hygie_e2e_privacy"
        env["HYGIE_DATABASE_AUTO_MIGRATE"] = "true"
    full_env = dict(os.environ, **env)

    def hygie(*args, stdin=None, data=True):
        extra = ["--data-dir", os.path.join(work, "data")] if data else []
        return subprocess.run([BINARY, *args, *extra], capture_output=True, text=True, env=full_env, input=stdin)

    # 1. The labelled synthetic hospital and the command-line contract.
    made = hygie("privacy", "generate", "--out", gen, "--units", "6", "--days", "5", "--plants", "6", "--seed", "7",
                 data=False)
    check("the generator writes a labelled hospital", made.returncode == 0 and "planted" in made.stdout, made.stderr)
    with open(os.path.join(gen, "audit_events.ndjson"), "rb") as source, \
            gzip.open(os.path.join(gen, "audit_events.ndjson.gz"), "wb") as target:
        shutil.copyfileobj(source, target)
    context = ["--staff", f"{gen}/staff.csv", "--patients", f"{gen}/patients.csv", "--encounters",
               f"{gen}/encounters.csv", "--care-events", f"{gen}/care_events.csv", "--departments",
               f"{gen}/departments.csv"]
    analysed = hygie("privacy", "analyze", "--audit-events", f"{gen}/audit_events.ndjson.gz", *context, "--format",
                     "jsonl", data=False)
    lines = [json.loads(line) for line in analysed.stdout.splitlines() if line.strip()]
    check("analyze prints one JSON object per flagged access", analysed.returncode == 0 and len(lines) > 0,
          analysed.stderr[-500:])
    fields = {"event_id", "user", "patient", "patterns", "score", "incident"}
    check("every line has the contract's fields", all(fields <= set(line) for line in lines), lines[:1])
    check("patterns are drawn from the documented list",
          all(line["patterns"] and set(line["patterns"]) <= PATTERNS for line in lines))
    check("scores are 0–100 and incidents group by user",
          all(0 < line["score"] <= 100 and line["incident"] == f"user:{line['user']}" for line in lines))
    check("the summary goes to standard error", "explained" in analysed.stderr, analysed.stderr)
    labels = {}
    with open(os.path.join(gen, "labels.csv"), newline="") as handle:
        for row in csv.DictReader(handle):
            labels[row["event_id"]] = set(row["patterns"].split(";"))
    flagged = {line["event_id"] for line in lines}
    tp = len(flagged & set(labels))
    precision, recall = tp / max(1, len(flagged)), tp / max(1, len(labels))
    check(f"precision {precision:.3f} ≥ 0.8 and recall {recall:.3f} ≥ 0.9 against labels.csv",
          precision >= 0.8 and recall >= 0.9)
    evaluated = hygie("privacy", "evaluate", gen, data=False)
    check("evaluate prints Hygie's and the naive rules' tables",
          evaluated.returncode == 0 and evaluated.stdout.count("| **overall** |") == 2, evaluated.stderr)
    broken = os.path.join(work, "broken.ndjson")
    with open(broken, "w") as handle:
        handle.write(open(os.path.join(gen, "audit_events.ndjson")).readline())
        handle.write('{"resourceType":"AuditEvent","recorded":"tomorrow"}\n')
    bad = hygie("privacy", "analyze", "--audit-events", broken, *context, data=False)
    check("an invalid AuditEvent stops the analysis with its record number",
          bad.returncode != 0 and "record 2" in bad.stderr, bad.stderr[-300:])
    bad = hygie("privacy", "analyze", "--audit-events", broken, "--staff", f"{gen}/patients.csv", "--patients",
                f"{gen}/patients.csv", "--encounters", f"{gen}/encounters.csv", data=False)
    check("a staff file without its columns is refused with their names",
          bad.returncode != 0 and "staff_id" in bad.stderr, bad.stderr[-300:])

    # 2. The same hospital through a server.
    est = hygie("establishments", "add", "--name", "CHU Valbrune", "--finess", "999000058").stdout.strip()
    for email, role in [("rssi@chu-valbrune.fr", "rssi"), ("dpo@chu-valbrune.fr", "dpo")]:
        hygie("establishments", "add-member", "-e", est, "--email", email, "--name", role.upper(), "--role", role,
              stdin="Confidentialite-Test-2026!\n")
    rssi = hygie("token", "create", "-e", est, "--user", "rssi@chu-valbrune.fr", "--name", "e2e").stdout.strip()
    dpo = hygie("token", "create", "-e", est, "--user", "dpo@chu-valbrune.fr", "--name", "e2e-dpo").stdout.strip()
    check("tokens are issued to the RSSI and the DPO", rssi.startswith("hyg") and dpo.startswith("hyg"), (rssi, dpo))
    hygie("sources", "add", "-e", est, "--name", "dpi-atna", "--kind", "syslog", "--sender", "127.0.0.0/8")
    mllp_port, syslog_port = free_port(), free_port()
    server_env = dict(env, HYGIE_PRIVACY_MLLP_LISTEN=f"127.0.0.1:{mllp_port}", HYGIE_PRIVACY_MLLP_ESTABLISHMENT=est,
                      HYGIE_SYSLOG_TCP=f"127.0.0.1:{syslog_port}")
    server = Server(BINARY, os.path.join(work, "data"), env=server_env).start()
    base = server.base
    try:
        for kind in ["departments", "staff", "patients", "encounters", "care_events"]:
            with open(os.path.join(gen, f"{kind}.csv"), "rb") as handle:
                status, body = api(base, "POST", f"/api/v1/privacy/context/{kind}", token=rssi, raw=handle.read(),
                                   headers={"Content-Type": "text/csv"})
            check(f"the {kind} file is imported through the API", status == 200 and body.get("rows", 0) > 0, body)
        status, body = api(base, "POST", "/api/v1/privacy/context/staff", token=rssi, raw=b"id,name\n1,x\n",
                           headers={"Content-Type": "text/csv"})
        check("a staff file without its columns is a 422 with the missing columns",
              status == 422 and "staff_id" in json.dumps(body), body)
        with open(os.path.join(gen, "audit_events.ndjson"), "rb") as handle:
            events = handle.read().splitlines()
        bundle = {"resourceType": "Bundle", "type": "transaction",
                  "entry": [{"resource": json.loads(line), "request": {"method": "POST", "url": "AuditEvent"}}
                            for line in events[:50]]}
        status, body = api(base, "POST", "/api/v1/fhir", token=rssi, raw=json.dumps(bundle).encode(),
                           headers={"Content-Type": "application/fhir+json"})
        check("a transaction Bundle is answered with a transaction-response",
              status == 200 and body.get("type") == "transaction-response" and len(body.get("entry", [])) == 50,
              str(body)[:300])
        status, body = api(base, "POST", "/api/v1/fhir/AuditEvent", token=rssi, raw=b"\n".join(events),
                           headers={"Content-Type": "application/fhir+ndjson"})
        diagnostics = body.get("issue", [{}])[0].get("diagnostics", "") if isinstance(body, dict) else ""
        check("the NDJSON bulk is stored (the Bundle's 50 already received)",
              status == 200 and f"{len(events) - 50} stored, 50 already received" in diagnostics, diagnostics)
        status, body = api(base, "POST", "/api/v1/fhir/AuditEvent", token=rssi,
                           raw=b'{"resourceType":"AuditEvent","agent":[]}', headers={"Content-Type": "application/fhir+json"})
        check("an invalid AuditEvent gets a 400 OperationOutcome", status == 400 and isinstance(body, dict)
              and body.get("resourceType") == "OperationOutcome" and len(body.get("issue", [])) >= 3, body)
        status, body = api(base, "POST", "/api/v1/fhir/AuditEvent", token=dpo, raw=events[0],
                           headers={"Content-Type": "application/fhir+json"})
        check("the DPO's token may also feed accesses", status == 200, body)
        status, body = api(base, "POST", "/api/v1/privacy/analyze", token=rssi)
        check("the analysis runs through the API", status == 200 and body.get("analysed") == len(events), body)

        status, body = api(base, "GET", "/api/v1/privacy/incidents", token=rssi)
        check("the RSSI cannot read the review queue", status == 403, body)
        status, body = api(base, "GET", "/api/v1/privacy/incidents", token=dpo)
        incidents = body.get("incidents", []) if status == 200 else []
        server_flags = set()
        details = {}
        for incident in incidents:
            status, detail = api(base, "GET", f"/api/v1/privacy/incidents/{incident['id']}", token=dpo)
            details[incident["id"]] = detail
            server_flags |= {flag["event_id"] for flag in detail.get("flags", [])}
        check("the server flags exactly the accesses the offline analysis flagged",
              server_flags == flagged, (len(server_flags), len(flagged), list(server_flags ^ flagged)[:5]))
        check("incidents group the flags per user",
              len(incidents) == len({line["user"] for line in lines}), (len(incidents), len(lines)))
        check("no patient identifier appears in the queue", all(
            flag["patient_key"].startswith("pk-") for detail in details.values() for flag in detail.get("flags", [])))
        family = next((i for i in incidents if {"same_address", "same_surname"} & set(i["patterns"])), incidents[0])
        key = details[family["id"]]["flags"][0]["patient_key"]
        status, patient = api(base, "GET", f"/api/v1/privacy/patients/{key}", token=dpo)
        check("the DPO re-identifies a flagged patient", status == 200 and patient.get("id", "").startswith("P"), patient)
        status, _ = api(base, "GET", f"/api/v1/privacy/patients/{key}", token=rssi)
        check("the RSSI cannot re-identify", status == 403)
        status, body = api(base, "POST", f"/api/v1/privacy/incidents/{family['id']}/decision", token=dpo,
                           payload={"status": "inappropriate", "notes": "", "open_case": True})
        check("an inappropriate decision without notes is refused", status == 422, body)
        status, body = api(base, "POST", f"/api/v1/privacy/incidents/{family['id']}/decision", token=dpo,
                           payload={"status": "inappropriate", "notes": "Dossier d'un proche, reconnu en entretien.",
                                    "open_case": True})
        case_id = body.get("incident", {}).get("case_id") if status == 200 else None
        check("the decision opens a case", case_id is not None, body)
        status, case = api(base, "GET", f"/api/v1/cases/{case_id}", token=rssi)
        check("the case is an EHR access case at TLP:RED for the security team",
              status == 200 and case.get("case", {}).get("type") == "ehr_access"
              and case.get("case", {}).get("tlp") == "red", str(case)[:300])
        status, body = api(base, "GET", f"/api/v1/privacy/patient-report?patient_id={patient.get('id')}", token=dpo)
        check("the patient's access report lists who opened the record and why",
              status == 200 and any(line["status"] == "flagged" for line in body.get("accesses", []))
              and all(line["status"] != "explained" or line["explanation"] for line in body.get("accesses", [])),
              str(body)[:300])
        status, audit = api(base, "GET", "/api/v1/audit-events?action=privacy.reidentify", token=rssi)
        check("re-identifications are in the audit trail",
              status == 200 and len(audit.get("items", [])) >= 1, str(audit)[:300])

        # 3. Context from the ADT feed and accesses from ATNA.
        staff = next(csv.DictReader(open(os.path.join(gen, "staff.csv"), newline="")))
        pv1 = ["PV1", "1", "I", staff["department"], "", "", "", staff["staff_id"]] + [""] * 11 + ["VE2E"]
        adt = "\r".join(["MSH|^~\\&|SIH|CHU|HYGIE|CHU|20261123090000+0100||ADT^A01|E2E1|P|2.5",
                         "PID|1||PE2E^^^CHU^PI||TESTE^Rose||19400101|F", "|".join(pv1)])
        ack = mllp(mllp_port, adt)
        check("an ADT admission over MLLP is acknowledged AA", "MSA|AA|E2E1" in ack, ack)
        ack = mllp(mllp_port, "MSH|^~\\&|SIH|CHU|HYGIE|CHU|20261123||ADT^A01|E2E2|P|2.5\rPID|1||")
        check("an ADT message without patient is answered AE with the reason", "MSA|AE|E2E2" in ack and "PID-3" in ack,
              ack)
        xml = ('<AuditMessage><EventIdentification EventActionCode="R" EventDateTime="2026-11-23T10:00:00+01:00"/>'
               f'<ActiveParticipant UserID="{staff["staff_id"]}" UserIsRequestor="true"/>'
               '<ParticipantObjectIdentification ParticipantObjectID="PE2E" ParticipantObjectTypeCode="1" '
               'ParticipantObjectTypeCodeRole="1"/></AuditMessage>')
        message = f"<85>1 2026-11-23T09:00:00Z dpi DPI - IHE+RFC-3881 - {xml}".encode()
        with socket.create_connection(("127.0.0.1", syslog_port), timeout=10) as sock:
            sock.sendall(f"{len(message)} ".encode() + message)
        deadline, lines_seen = time.time() + 20, []
        while time.time() < deadline:
            status, body = api(base, "GET", "/api/v1/privacy/patient-report?patient_id=PE2E", token=dpo)
            lines_seen = body.get("accesses", []) if status == 200 else []
            if lines_seen:
                break
            time.sleep(0.3)
        check("an ATNA message over syslog becomes an access of the patient", len(lines_seen) == 1, lines_seen)
        api(base, "POST", "/api/v1/privacy/analyze", token=rssi)
        status, body = api(base, "GET", "/api/v1/privacy/patient-report?patient_id=PE2E", token=dpo)
        check("the admission sent over MLLP explains that access",
              [line.get("explanation") for line in body.get("accesses", [])] == ["attending"], body)
        status, stats = api(base, "GET", "/api/v1/privacy/statistics", token=rssi)
        check("the statistics count every access", status == 200 and stats.get("accesses") == len(events) + 1, stats)
    finally:
        server.stop()

    listed = hygie("privacy", "incidents", "-e", est)
    check("the CLI lists the incidents", listed.returncode == 0 and "inappropriate" in listed.stdout, listed.stderr)
    shown = hygie("privacy", "patient", "-e", est, "PE2E")
    check("the CLI prints a patient's access report", shown.returncode == 0 and "attending" in shown.stdout,
          shown.stderr)
    bad = hygie("privacy", "decide", "-e", est, "1", "maybe")
    check("a bad decision is refused with a message and a non-zero exit", bad.returncode != 0 and "legitimate" in
          bad.stderr, bad.stderr)
    bad = hygie("privacy", "import", "-e", est, "staff", os.path.join(gen, "patients.csv"))
    check("a wrong import file is refused with a non-zero exit", bad.returncode != 0 and "staff_id" in bad.stderr,
          bad.stderr[-300:])


report.run(main)
