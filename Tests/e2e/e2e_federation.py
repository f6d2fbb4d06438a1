#!/usr/bin/env python3
"""End-to-end federation with three `hygie` processes on loopback: a regional hub (SQLite) and two establishment
instances, one on SQLite (the demo hospital) and one on PostgreSQL (with --postgres; SQLite otherwise).

The coordinator issues enrolment tokens from the CLI; each establishment joins with `hygie hub join` and pushes
(aggregates and declaration copies); the hub's API shows the members, their compliance scores and the declarations
inbox, without the title of a TLP:RED case; the TAXII exchange set up at enrolment carries an indicator down and
a report up; a broadcast alert is answered automatically (the hospital's exposed
FortiGate makes it "affected"), corrected by the clinic's team, and its indicators join the hospital's detection;
the hub is stopped in the middle of a push (connections cut), the push
fails and waits, and after the restart it resumes and every item arrives exactly once; a revoked establishment is
refused; a used or wrong token is refused with a message and a non-zero exit.

Usage: e2e_federation.py BINARY [--postgres URL]
Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from hygie_client import Report, Server, api, free_port  # noqa: E402

BINARY = sys.argv[1]
PG_URL = sys.argv[sys.argv.index("--postgres") + 1] if "--postgres" in sys.argv else None
report = Report("federation")
check = report.check


def main():
    work = tempfile.mkdtemp(prefix="hygie-e2e-federation-")
    base_env = {"HYGIE_SECURITY_BCRYPT_COST": "4", "HYGIE_LOG_LEVEL": "warning"}
    second_env = dict(base_env)
    if PG_URL:
        subprocess.run(["psql", PG_URL, "-qc", "DROP DATABASE IF EXISTS hygie_e2e_federation WITH (FORCE)"], check=True,
                       capture_output=True)
        subprocess.run(["psql", PG_URL, "-qc", "CREATE DATABASE hygie_e2e_federation"], check=True,
                       capture_output=True)
        second_env["HYGIE_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/hygie_e2e_federation"
        second_env["HYGIE_DATABASE_AUTO_MIGRATE"] = "true"

    def run(data, env, *args, stdin=None):
        return subprocess.run([BINARY, *args, "--data-dir", os.path.join(work, data)], capture_output=True, text=True,
                              env=dict(os.environ, **env), input=stdin)

    def hub(*args, stdin=None):
        return run("hub", base_env, *args, stdin=stdin)

    def first(*args):
        return run("first", base_env, *args)

    def second(*args):
        return run("second", second_env, *args)

    # The hub: the regional agency and its coordinator.
    agency = hub("establishments", "add", "--name", "ARS Val-de-Lune", "--kind", "authority").stdout.strip()
    hub("establishments", "add-member", "-e", agency, "--email", "coordination@ars.example", "--name", "Coordination",
        "--role", "coordinator", stdin="Federation-Test-2026!\n")
    coordinator = hub("token", "create", "-e", agency, "--user", "coordination@ars.example", "--name", "e2e").stdout.strip()
    tokens = [hub("hub", "token", "-e", agency, "--label", label).stdout.strip()
              for label in ["CH de Valbrune", "Clinique du Parc"]]
    check("the coordinator issues enrolment tokens from the CLI", all(t.startswith("hye_") for t in tokens), tokens)

    # The establishments: the demo hospital on SQLite, a clinic on the other engine.
    demo = first("demo", "--no-events")
    check("the first establishment's instance holds the demo hospital", demo.returncode == 0, demo.stderr[-300:])
    red = first("cases", "list", "-e", "999000017").stdout.splitlines()
    ehr_case = next((line.split("\t")[0] for line in red if "ehr_access" in line), None)
    qualified = first("cases", "qualify", "-e", "999000017", ehr_case or "0", "--personal-data")
    check("a TLP:RED case (inappropriate EHR access) gets its CNIL declaration", qualified.returncode == 0,
          qualified.stderr)
    clinic = second("establishments", "add", "--name", "Clinique du Parc", "--finess", "999000033", "--kind", "clinic")
    check(f"the second instance runs on {'PostgreSQL' if PG_URL else 'SQLite'}", clinic.returncode == 0, clinic.stderr)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = Server(BINARY, os.path.join(work, "hub"), env=base_env, port=port).start()
    try:
        joined = first("hub", "join", "-e", "999000017", "--hub", url, "--token", tokens[0])
        check("the hospital joins the hub and pushes at once", joined.returncode == 0 and "0 pushes pending" in joined.stdout,
              joined.stdout + joined.stderr)
        again = second("hub", "join", "-e", "999000033", "--hub", url, "--token", tokens[0])
        check("a used token is refused with a message and a non-zero exit",
              again.returncode != 0 and "enrolment token" in again.stderr, again.stderr[-300:])
        joined = second("hub", "join", "-e", "999000033", "--hub", url, "--token", tokens[1])
        check("the clinic joins with its own token", joined.returncode == 0, joined.stderr[-300:])

        status, body = api(server.base, "GET", "/api/v1/hub/members", token=coordinator)
        members = {m["name"]: m for m in body.get("members", [])} if status == 200 else {}
        check("the hub lists both establishments", set(members) == {"Centre hospitalier de Valbrune", "Clinique du Parc"},
              list(members))
        valbrune = members.get("Centre hospitalier de Valbrune", {})
        values = valbrune.get("values") or {}
        check("the hospital's snapshot carries its CaRE score per theme",
              "compliance:urn:hygie:risk:framework:care-d2" in values
              and any(k.startswith("theme:urn:hygie:risk:framework:care-d2#") for k in values), sorted(values)[:5])
        check("and its module indicators (awareness, vulnerabilities…)", "awareness.trained-12m" in values, sorted(values))
        text = json.dumps(body)
        check("no person, no machine name leaves the hospital",
              "@valbrune.example" not in text and "PACS-02" not in text and "Lopez" not in text)

        status, body = api(server.base, "GET", "/api/v1/hub/declarations", token=coordinator)
        declarations = body.get("declarations", []) if status == 200 else []
        regimes = {d["copy"]["regime"] for d in declarations}
        check("the hospital's declarations are copied to the hub", {"cert_sante", "cnil"} <= regimes, regimes)
        red_copies = [d for d in declarations if d["copy"]["tlp"] == "red"]
        check("the TLP:RED case's declaration arrives without its title",
              red_copies and all("title" not in d["copy"] for d in red_copies)
              and "Accès inapproprié" not in json.dumps(body), red_copies[:1])

        # The TAXII exchange set up at enrolment: the hub shares an indicator, the hospital pulls it; the hospital
        # puts a report in "Envoyé au hub" and pushes it to the hub's inbox.
        def collection(runner, establishment, title):
            lines = runner("intel", "collections", "-e", establishment).stdout.splitlines()
            return next((line.split("\t") for line in lines if line.split("\t")[1:2] == [title]), ["none", "", "", "", "0"])
        shared = collection(hub, agency, "Partage du hub")[0]
        indicator = os.path.join(work, "shared.csv")
        with open(indicator, "w") as handle:
            handle.write("type,value,name\nipv4-addr,203.0.113.99,Serveur de commande signalé par le CERT Santé\n")
        imported = hub("intel", "import", "-e", agency, "--collection", shared, indicator)
        check("the coordinator adds an indicator to the hub's shared collection", imported.returncode == 0,
              imported.stderr[-300:])
        feeds = first("intel", "feeds", "-e", "999000017").stdout
        check("the hospital got a pull and a push feed to the hub", "hub-partage\tpull" in feeds
              and "hub-remontees\tpush" in feeds, feeds)
        pulled = first("intel", "sync", "-e", "999000017", "hub-partage")
        received = collection(first, "999000017", "Reçu du hub")
        check("the hospital pulls the hub's indicator into detection", pulled.returncode == 0
              and int(received[4].split()[0]) >= 1, pulled.stdout + pulled.stderr + str(received))
        outgoing = os.path.join(work, "upward.csv")
        with open(outgoing, "w") as handle:
            handle.write("type,value,name\ndomain-name,phish-valbrune.example,Hameçonnage visant le CH\n")
        first("intel", "import", "-e", "999000017", "--collection", collection(first, "999000017", "Envoyé au hub")[0],
              outgoing)
        pushed = first("intel", "sync", "-e", "999000017", "hub-remontees")
        inbox = collection(hub, agency, "Remontées des établissements")
        check("the hospital pushes what it shares to the hub's inbox", pushed.returncode == 0
              and int(inbox[4].split()[0]) >= 1, pushed.stdout + pushed.stderr + str(inbox))

        # A broadcast: the hospital exposes a FortiGate in the range and answers "affected" by itself; the clinic has
        # no inventory ("unknown") and its team corrects the answer; the indicators join the hospital's detection.
        status, broadcast = api(server.base, "POST", "/api/v1/hub/broadcasts", token=coordinator, payload={
            "title": "FortiOS SSL-VPN exploité", "severity": "critical", "tlp": "amber",
            "products": ["fortinet fortios >= 7.2.0 < 7.2.7"], "indicators": ["198.51.100.23", "fortigate-patch[.]example"],
            "references": ["CVE-2024-21762"], "answer_by": "2026-12-31"})
        check("the coordinator publishes an alert through the API", status == 201 and broadcast.get("uid"), broadcast)
        status, refused = api(server.base, "POST", "/api/v1/hub/broadcasts", token=coordinator,
                              payload={"title": "x", "products": ["fortinet"]})
        check("a malformed alert is refused with the reason", status == 422 and "vendor" in json.dumps(refused), refused)
        for run_push in (first, second):
            run_push("hub", "push", "-e", "999000017" if run_push is first else "999000033")
        alerts = first("hub", "alerts", "-e", "999000017").stdout
        check("the hospital received the alert and answered it automatically",
              broadcast.get("uid", "?") in alerts and "\taffected\tauto\t" in alerts, alerts)
        collections = first("intel", "collections", "-e", "999000017").stdout
        check("the alert's indicators joined the hospital's detection", "Alertes du hub" in collections, collections)
        uid = broadcast.get("uid", "none")
        corrected = second("hub", "answer", "-e", "999000033", uid, "--status", "not_affected", "--comment",
                           "Pas de FortiGate : VPN Citrix")
        check("the clinic's team corrects its answer", corrected.returncode == 0, corrected.stderr[-300:])
        bad = second("hub", "answer", "-e", "999000033", uid, "--status", "maybe")
        check("an unknown answer is refused with a non-zero exit", bad.returncode != 0 and "answer" in bad.stderr,
              bad.stderr[-200:])
        second("hub", "push", "-e", "999000033")
        status, body = api(server.base, "GET", "/api/v1/hub/broadcasts", token=coordinator)
        broadcast_id = next((b["id"] for b in body.get("broadcasts", []) if b["broadcast"]["uid"] == uid), "none")
        status, body = api(server.base, "GET", f"/api/v1/hub/broadcasts/{broadcast_id}", token=coordinator)
        answers = {r["member"]: r.get("answer") or {} for r in body.get("responses", [])}
        hospital_answer = answers.get("Centre hospitalier de Valbrune", {})
        check("the hub's response map shows the hospital affected, with its exposed asset",
              hospital_answer.get("status") == "affected" and hospital_answer.get("automatic") is True
              and hospital_answer.get("affected_assets", 0) >= 1 and hospital_answer.get("exposed_assets", 0) >= 1,
              hospital_answer)
        clinic_answer = answers.get("Clinique du Parc", {})
        check("and the clinic not affected, confirmed with its comment",
              clinic_answer.get("status") == "not_affected" and clinic_answer.get("automatic") is False
              and clinic_answer.get("comment") == "Pas de FortiGate : VPN Citrix", clinic_answer)
        check("an answer names no asset", "fw-edge-01" not in json.dumps(body) and "203.0.113.10" not in json.dumps(body))
        listed = hub("hub", "responses", "-e", agency, broadcast_id)
        check("the CLI lists the answers, affected first", listed.stdout.startswith("affected\t999000017"), listed.stdout)

        # The hub goes down in the middle: the push fails and waits; after the restart it resumes.
        server.stop()
        cut = first("hub", "push", "-e", "999000017")
        check("a push while the hub is down fails with the reason and keeps its items",
              cut.returncode != 0 and "cannot be reached" in cut.stdout and "1 pending" in cut.stdout, cut.stdout)
        server = Server(BINARY, os.path.join(work, "hub"), env=base_env, port=port).start()
        resumed = first("hub", "push", "-e", "999000017")
        check("after the restart the waiting items and a fresh snapshot are delivered",
              resumed.returncode == 0 and resumed.stdout.startswith("2 delivered, 0 pending"), resumed.stdout)
        status, body = api(server.base, "GET", "/api/v1/hub/members", token=coordinator)
        seen = [m for m in body.get("members", []) if m["name"] == "Centre hospitalier de Valbrune"]
        check("the hub's member list shows the latest push", seen and seen[0].get("last_snapshot_at"), seen)
        status, body = api(server.base, "GET", "/api/v1/hub/declarations", token=coordinator)
        uids = [d["copy"]["uid"] for d in body.get("declarations", [])]
        check("each declaration is on the hub exactly once", len(uids) == len(set(uids)) and uids, uids)

        # Revocation.
        clinic_id = members.get("Clinique du Parc", {}).get("id")
        revoked = hub("hub", "revoke", "-e", agency, clinic_id or "none")
        check("the coordinator revokes the clinic", revoked.returncode == 0, revoked.stderr)
        refused = second("hub", "push", "-e", "999000033")
        check("the revoked clinic's push is refused", refused.returncode != 0 and "403" in refused.stdout, refused.stdout)
        state = second("hub", "status", "-e", "999000033")
        check("and its link says revoked", '"status" : "revoked"' in state.stdout, state.stdout)
        status, body = api(server.base, "GET", "/api/v1/hub/members", token=coordinator)
        check("the hub keeps the revoked member's history",
              any(m["name"] == "Clinique du Parc" and m["status"] == "revoked" for m in body.get("members", [])))
        listed = hub("hub", "members", "-e", agency)
        check("the CLI lists the members with their score", "Centre hospitalier de Valbrune" in listed.stdout
              and "%" in listed.stdout, listed.stdout)
    finally:
        server.stop()


report.run(main)
