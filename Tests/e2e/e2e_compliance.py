#!/usr/bin/env python3
"""End-to-end compliance scenario with the real `hygie` binary (SQLite, or PostgreSQL with --postgres URL).

Imports every CISO Assistant library of ../shared/data/frameworks and the OSCAL catalog, refuses broken files with
a message and a non-zero exit, runs a CaRE domain 2 self-assessment from the command line (dated evidence, activity
coverage, the Active Directory level as live evidence, a justification for "not applicable"), plans the gaps,
schedules a recurring audit, compares two assessments, signs off, and writes every report: CSV, JSON, OSCAL
assessment results validated by compliance-trestle (NIST's OSCAL models, from PyPI), printable HTML and the PDF
rendered to PNG with pdftoppm. Then the HTTP routes' access rules and the audit trail.

Usage: e2e_compliance.py BINARY --python VENV_PYTHON [--postgres URL] [--shots DIR]
Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from hygie_client import Browser, Report, Server, SMTPSink, totp  # noqa: E402

BINARY = sys.argv[1]
PYTHON = sys.argv[sys.argv.index("--python") + 1]
PG_URL = sys.argv[sys.argv.index("--postgres") + 1] if "--postgres" in sys.argv else None
SHOTS = sys.argv[sys.argv.index("--shots") + 1] if "--shots" in sys.argv else None
ENGINE = "postgres" if PG_URL else "sqlite"
report = Report(f"compliance-{ENGINE}")
check = report.check
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "frameworks")
ENV = {"HYGIE_SECURITY_BCRYPT_COST": "4", "HYGIE_LOG_LEVEL": "warning"}
VALIDATE = """
import json, sys
from trestle.oscal.assessment_results import AssessmentResults
document = json.load(open(sys.argv[1]))
results = AssessmentResults.parse_obj(document["assessment-results"])
print(len(results.results[0].findings or []), len(results.results[0].observations or []))
"""


def run(work, *args):
    return subprocess.run([BINARY, *args, "--data-dir", work], capture_output=True, text=True,
                          env=dict(os.environ, **ENV), timeout=600)


def sign_in(base, email, password):
    """Signs a demo account in and enrols its second factor, as anyone does at first sign-in."""
    browser = Browser(base)
    token, _ = browser.csrf("/login")
    browser.post("/login", {"_csrf": token, "email": email, "password": password})
    page = browser.get("/mfa/enrol")
    secret = re.search(r'<code id="secret" class="secret">([A-Z2-7 ]+)</code>', page.text).group(1)
    token = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    browser.post("/mfa/enrol", {"_csrf": token, "code": totp(secret.replace(" ", ""))})
    return browser


def demo_and_fleet():
    """`hygie demo` seeds a half-finished CaRE assessment; the region's coordinator sees it in the fleet view."""
    work = tempfile.mkdtemp(prefix=f"hygie-e2e-compliance-demo-{ENGINE}-")
    if PG_URL:
        subprocess.run(["psql", PG_URL, "-qc", "DROP DATABASE IF EXISTS hygie_e2e_compliance_demo WITH (FORCE)"],
                       capture_output=True)
        subprocess.run(["psql", PG_URL, "-qc", "CREATE DATABASE hygie_e2e_compliance_demo"], check=True, capture_output=True)
        ENV["HYGIE_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/hygie_e2e_compliance_demo"
        run(work, "migrate")
    seeded = run(work, "demo", "--no-events")
    summary = re.search(r"Compliance: CaRE domain 2 at (\d+) % \((\d+) % assessed\)", seeded.stdout)
    check("the demo seeds a half-finished CaRE domain 2 assessment", seeded.returncode == 0 and summary is not None
          and 40 <= int(summary.group(2)) < 100, seeded.stdout[-400:] + seeded.stderr[-400:])
    password = re.search(r"the password (\S+)", seeded.stdout).group(1)
    server = Server(BINARY, work, env=ENV).start()
    try:
        coordinator = sign_in(server.base, "coordination@ars-valdelune.example", password)
        fleet = coordinator.get("/compliance/fleet")
        check("the coordinator's fleet view shows the region's CaRE scores", fleet.status == 200
              and "Centre hospitalier de Valbrune" in fleet.text and "Clinique des Tilleuls" in fleet.text
              and f"{summary.group(1)} %" in fleet.text and "heat-" in fleet.text, fleet.status)
        check("the fleet view carries no names of people", "Claire Morel" not in fleet.text and "@valbrune" not in fleet.text)
        check("the coordinator cannot open an establishment's assessments", coordinator.get("/compliance").status == 403)
        rssi = sign_in(server.base, "rssi@valbrune.example", password)
        page = rssi.get("/compliance")
        check("the RSSI sees the assessment, the AD level and the overdue recurring audit",
              "CaRE domaine 2 — dossier de candidature" in page.text and "Niveau 3" in page.text and "En retard" in page.text,
              page.status)
        assessment = re.search(r'href="/compliance/assessments/([0-9a-f-]{36})">CaRE domaine 2', page.text).group(1)
        checklist = rssi.get(f"/compliance/assessments/{assessment}/report?kind=checklist")
        check("the demo checklist lists dated evidence with fingerprints", checklist.status == 200
              and "PSSI v3 signée" in checklist.text and "SHA-256" in checklist.text)
    finally:
        check("demo server stops cleanly", server.stop() == 0)
        ENV.pop("HYGIE_DATABASE_URL", None)


def order(name):
    return (0 if name.startswith("key-") else 2 if name.startswith("mapping-") else 1, name)


def main():
    work = tempfile.mkdtemp(prefix=f"hygie-e2e-compliance-{ENGINE}-")
    if PG_URL:
        subprocess.run(["psql", PG_URL, "-qc", "DROP DATABASE IF EXISTS hygie_e2e_compliance WITH (FORCE)"], capture_output=True)
        subprocess.run(["psql", PG_URL, "-qc", "CREATE DATABASE hygie_e2e_compliance"], check=True, capture_output=True)
        ENV["HYGIE_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/hygie_e2e_compliance"
    check("migrate", run(work, "migrate").returncode == 0)
    frameworks = run(work, "audit", "frameworks").stdout
    check("the five built-in frameworks are installed", frameworks.count("[hygie]") == 5
          and "CaRE-D2" in frameworks and "ANSSI-HYGIENE" in frameworks, frameworks)

    # Every CISO Assistant library of the test data, controls first, crosswalks last.
    folder = os.path.join(DATA, "ciso-assistant")
    files = sorted((f for f in os.listdir(folder) if f.endswith(".yaml")), key=order)
    outputs = {}
    for name in files:
        result = run(work, "audit", "import", "--stats", os.path.join(folder, name))
        outputs[name] = result.stdout
        check(f"{name} imports", result.returncode == 0 and ": imported " in result.stdout, result.stdout + result.stderr)
    expected = {"recyf.yaml": "186 nodes", "hds-v2.yaml": "82 nodes", "gdpr.yaml": "1090 nodes",
                "key-reference-controls.yaml": "175 reference controls",
                "mapping-recyf-and-annex-technical-and-methodological-requirements-nis2.yaml": "446 mappings",
                "mapping-annex-technical-and-methodological-requirements-nis2-and-nist-csf-2.0.yaml": "4486 mappings"}
    for name, text in expected.items():
        check(f"{name}: {text}", text in outputs.get(name, ""), outputs.get(name))
    warnings = {name: out.count("warning:") for name, out in outputs.items() if "warning:" in out}
    check("only the NIS1 rules' two MITRE ATT&CK links stay unresolved", warnings == {"nis1-rules-fr.yaml": 2}, warnings)
    for name in ["annex-nis2-regulation--2024-2690-with-technical-implementation-guidance-by-enisa.yaml", "gdpr.yaml"]:
        stats = re.search(r"stats: ([0-9.]+) s, ([0-9.]+) MB read, peak RSS ([0-9]+) MB", outputs.get(name, ""))
        check(f"{name} import time and memory are printed", stats is not None, outputs.get(name))
        if stats:
            print(f"     {name}: {stats.group(1)} s for {stats.group(2)} MB, peak RSS {stats.group(3)} MB")
    again = run(work, "audit", "import", os.path.join(folder, "gdpr.yaml"))
    check("importing the same version again changes nothing", again.returncode == 0 and "unchanged" in again.stdout, again.stdout)
    catalog = run(work, "audit", "import", os.path.join(DATA, "oscal", "basic-catalog.json"))
    check("the OSCAL catalog imports as a framework", catalog.returncode == 0 and "8 nodes" in catalog.stdout, catalog.stdout + catalog.stderr)
    profile = run(work, "audit", "import", os.path.join(DATA, "oscal", "NIST_SP-800-53_rev5_MODERATE-baseline_profile.json"))
    check("an OSCAL profile is refused with a message", profile.returncode != 0 and "profile" in profile.stderr, profile.stderr)
    for content, message in [("urn: x\nname: [broken\n", "not valid YAML"), ("", "empty"), ("- a\n- b\n", "YAML mapping"),
                             ("urn: x\nname: y\nobjects:\n  framework: {urn: f, name: F, requirement_nodes: "
                              "[{urn: a, depth: 2, parent_urn: zz}]}\n", "not listed before it")]:
        path = os.path.join(work, "broken.yaml")
        with open(path, "w") as f:
            f.write(content)
        result = run(work, "audit", "import", path)
        check(f"a broken library is refused ({message})", result.returncode != 0 and message in result.stderr, result.stderr)
    listed = run(work, "audit", "frameworks").stdout
    check("the catalogue holds 5 built-in, 14 imported frameworks and the OSCAL catalog", len(listed.strip().splitlines()) == 20,
          listed)

    # A CaRE domain 2 self-assessment.
    est = run(work, "establishments", "add", "--name", "CH du Lys", "--finess", "999000033").stdout.strip()
    created = run(work, "audit", "create", "-e", est, "--framework", "CaRE-D2", "--title", "CaRE D2 — dossier 2026",
                  "--unit", "mco;Hôpital du Lys (MCO);600", "--unit", "ssr;Soins de suite;250", "--unit", "ehpad;EHPAD;150",
                  "--due", "2027-03-31")
    assessment = created.stdout.strip()
    check("an assessment is opened", created.returncode == 0 and len(assessment) == 36, created.stdout + created.stderr)

    def audit(*args):
        return run(work, "audit", *args[:1], "-e", est, *args[1:])

    def show():
        return audit("show", assessment).stdout

    def line(text, ref):
        return next((row for row in text.splitlines() if row.strip().startswith(ref + " ")), "")

    pssi = os.path.join(work, "pssi-2021.pdf")
    with open(pssi, "wb") as f:
        f.write(b"%PDF-1.4 PSSI du Lys 2021")
    audit("set", assessment, "--requirement", "p1", "--status", "compliant")
    added = audit("evidence", assessment, "--requirement", "p1", "--title", "PSSI 2021", "--effective", "2021-05-10", "--file", pssi)
    check("evidence is stored with its SHA-256", added.returncode == 0 and "sha256 " in added.stdout, added.stdout + added.stderr)
    check("a PSSI reviewed before 16 July 2022 leaves p1 partial", "partial" in line(show(), "p1") and "stale" in line(show(), "p1"),
          line(show(), "p1"))
    audit("evidence", assessment, "--requirement", "p1", "--title", "PSSI revue 2024", "--effective", "2024-03-01",
          "--link", "https://intranet.ch-lys.example/pssi")
    check("a later review makes p1 compliant", "compliant" in line(show(), "p1") and "(valid)" in line(show(), "p1"), line(show(), "p1"))
    audit("set", assessment, "--requirement", "o1.c", "--covered", "mco")
    check("plans covering 60 % of activity miss the 66 % rule", "partial" in line(show(), "o1.c") and "60.0 %" in line(show(), "o1.c"),
          line(show(), "o1.c"))
    audit("set", assessment, "--requirement", "o1.c", "--covered", "mco,ehpad")
    check("plans covering 75 % meet it", "compliant" in line(show(), "o1.c") and "75.0 %" in line(show(), "o1.c"), line(show(), "o1.c"))
    ad = run(work, "audit", "create", "-e", est, "--framework", "ANSSI-AD", "--title", "Annuaire AD").stdout.strip()
    for ref, status in [("L1", "compliant"), ("L2", "compliant"), ("L3", "non_compliant")]:
        run(work, "audit", "set", "-e", est, ad, "--requirement", ref, "--status", status)
    check("the Active Directory assessment reaches level 3", "level 3" in run(work, "audit", "show", "-e", est, ad).stdout)
    check("o3.a takes its status from the measured AD level", "compliant" in line(show(), "o3.a") and "measured 3.0" in line(show(), "o3.a"),
          line(show(), "o3.a"))
    refused = audit("set", assessment, "--requirement", "o3.d", "--status", "not_applicable")
    check("not applicable without a justification is refused", refused.returncode != 0 and "justification" in refused.stderr,
          refused.stderr)
    audit("set", assessment, "--requirement", "o3.d", "--status", "not_applicable", "--justification", "Supervision assurée par le GHT")
    audit("set", assessment, "--requirement", "o4", "--status", "non_compliant", "--comment", "Aucun test en production")
    unknown = audit("set", assessment, "--requirement", "o9", "--status", "compliant")
    check("an unknown requirement is refused", unknown.returncode != 0 and "o9" in unknown.stderr, unknown.stderr)
    planned = audit("actions", "--plan", assessment)
    check("the gap becomes a planned action", planned.returncode == 0 and "1 action(s) planned" in planned.stdout
          and "o4 —" in planned.stdout, planned.stdout + planned.stderr)
    schedule = audit("schedule", "--title", "Exercice de crise cyber", "--kind", "crisis_exercise", "--every", "12",
                     "--next", "2020-01-15").stdout.strip()
    check("an overdue recurring audit is listed as such", "OVERDUE" in audit("schedules").stdout)
    restore = audit("schedule", "--title", "Test de restauration du DPI", "--kind", "restore_test", "--every", "3",
                    "--next", "2020-02-01", "--owner", "rssi@ch-lys.example").stdout.strip()
    sink = SMTPSink()
    mail_env = {"HYGIE_SMTP_HOST": "127.0.0.1", "HYGIE_SMTP_PORT": str(sink.port), "HYGIE_SMTP_SECURITY": "none",
                "HYGIE_SMTP_FROM": "hygie@ch-lys.example"}
    ENV.update(mail_env)
    first = run(work, "audit", "daily")
    second = run(work, "audit", "daily")
    for key in mail_env:
        ENV.pop(key)
    sink.close()
    check("the daily run e-mails the owner of an overdue recurring audit once", "1 reminder(s) sent" in first.stdout
          and "0 reminder(s) sent" in second.stdout and len(sink.mails) == 1
          and "Test de restauration du DPI" in sink.mails[0] and "rssi@ch-lys.example" in sink.mails[0],
          first.stdout + first.stderr + second.stdout)
    check("the recurring audit without an owner's e-mail is not reminded", restore and len(sink.mails) == 1)
    done = audit("done", schedule, "--on", "2026-01-10", "--note", "Exercice rançongiciel")
    check("recording it moves the next due day a year on", "next due 2027-01-10" in done.stdout, done.stdout + done.stderr)
    indicators = audit("indicators").stdout
    check("the live indicators are listed, the AD level measured", "compliance.ad-level" in indicators
          and re.search(r"compliance\.ad-level\s+3\.0", indicators) is not None, indicators)

    # Reports.
    shots = SHOTS or work
    os.makedirs(shots, exist_ok=True)
    csv_path, json_path, oscal_path = (os.path.join(work, name) for name in ["r.csv", "r.json", "r-oscal.json"])
    audit("report", assessment, "--format", "csv", "-o", csv_path)
    text = open(csv_path, encoding="utf-8-sig").read()
    check("the CSV export has one row per requirement", text.startswith("ref_id;requirement;") and len(text.strip().splitlines()) == 14,
          text[:200])
    audit("report", assessment, "--format", "json", "-o", json_path)
    document = json.load(open(json_path))
    check("the JSON export lists the evidence of p1", len(next(r for r in document["requirements"] if r["ref_id"] == "p1")["evidence"]) == 2)
    audit("report", assessment, "--format", "oscal", "-o", oscal_path)
    validated = subprocess.run([PYTHON, "-c", VALIDATE, oscal_path], capture_output=True, text=True)
    check("the OSCAL assessment results validate against NIST's OSCAL model (compliance-trestle)",
          validated.returncode == 0 and validated.stdout.split()[0] == "4", validated.stdout + validated.stderr[-600:])
    html_path = os.path.join(work, "checklist.html")
    audit("report", assessment, "--format", "html", "--kind", "checklist", "-o", html_path)
    html = open(html_path, encoding="utf-8").read()
    check("the printable checklist lists requirements and evidence", "Liste de contrôle de la déclaration" in html
          and "PSSI revue 2024" in html and "SHA-256" in html)
    if shutil.which("chromium") and shutil.which("pdftoppm"):
        for kind in ["checklist", "full"]:
            pdf = os.path.join(work, f"{kind}.pdf")
            result = audit("report", assessment, "--format", "pdf", "--kind", kind, "-o", pdf)
            check(f"the {kind} report prints to PDF", result.returncode == 0 and open(pdf, "rb").read(4) == b"%PDF",
                  result.stdout + result.stderr)
            stem = os.path.join(shots, f"compliance-{ENGINE}-{kind}")
            subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", pdf, stem], check=False)
            png = stem + "-1.png"
            check(f"the {kind} PDF renders to PNG ({png})", os.path.exists(png) and os.path.getsize(png) > 20000,
                  os.path.exists(png) and os.path.getsize(png))
    else:
        check("chromium and pdftoppm are installed for the PDF check", False)

    # Comparison, sign-off, frozen result.
    second = run(work, "audit", "create", "-e", est, "--framework", "CaRE-D2", "--title", "CaRE D2 — 2027").stdout.strip()
    run(work, "audit", "set", "-e", est, second, "--requirement", "o4", "--status", "compliant")
    compared = audit("compare", assessment, second).stdout
    check("the comparison shows o4 improved and p1 regressed", "▲ o4" in compared and "▼ p1" in compared, compared)
    check("submit for review", "in_review" in audit("submit", assessment).stdout)
    check("sign-off closes the assessment", "closed" in audit("sign-off", assessment).stdout)
    late = audit("set", assessment, "--requirement", "o4", "--status", "compliant")
    check("a closed assessment cannot change", late.returncode != 0 and "closed" in late.stderr, late.stderr)

    server = Server(BINARY, work, env=ENV).start()
    try:
        for path in ["/api/v1/compliance/assessments", "/api/v1/compliance/frameworks"]:
            try:
                code = urllib.request.urlopen(server.base + path, timeout=10).status
            except urllib.error.HTTPError as error:
                code = error.code
            check(f"{path} needs a token", code == 401, code)
        opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                                  {"redirect_request": lambda *a, **k: None}))
        for path in ["/compliance", "/compliance/fleet", f"/compliance/assessments/{assessment}/report"]:
            try:
                code = opener.open(server.base + path, timeout=10).status
            except urllib.error.HTTPError as error:
                code = error.code
            check(f"{path} sends visitors to sign in", code == 303, code)
    finally:
        check("server stops cleanly", server.stop() == 0)
    verified = run(work, "audit", "verify")
    check("the audit trail is intact after every compliance change", verified.returncode == 0 and "intact" in verified.stdout,
          verified.stdout)


if __name__ == "__main__":
    report.run(lambda: (main(), demo_and_fleet()))
