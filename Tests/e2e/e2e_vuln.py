#!/usr/bin/env python3
"""End-to-end vulnerability scenario with the real `hygie` binary (SQLite, or PostgreSQL with --postgres URL).

The command-line contract used by scripts (`vuln match --nvd … --cpe … --format json`, `vuln version-compare`),
imports of public data from ../shared/data/vuln (KEV, NVD, CSAF medical advisories, CVE records), an inventory
from a spreadsheet, an nmap report and an SBOM, matching, the report, a remediation decision, a later import
that verifies a fix, broken files refused with a message and a non-zero exit, and the HTTP routes' access rules.

Usage: e2e_vuln.py BINARY [--postgres URL]
Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from hygie_client import Report, Server, free_port  # noqa: E402

BINARY = sys.argv[1]
PG_URL = sys.argv[sys.argv.index("--postgres") + 1] if "--postgres" in sys.argv else None
ENGINE = "postgres" if PG_URL else "sqlite"
report = Report(f"vuln-{ENGINE}")
check = report.check
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "vuln")
NVD = os.path.join(DATA, "nvd_golden", "nvd_api2_golden.json")
ENV = {"HYGIE_SECURITY_BCRYPT_COST": "4", "HYGIE_LOG_LEVEL": "warning"}


def run(work, *args):
    return subprocess.run([BINARY, *args, "--data-dir", work] if work else [BINARY, *args], capture_output=True, text=True,
                          env=dict(os.environ, **ENV), timeout=600)


def contract():
    def match(*cpes):
        args = ["vuln", "match", "--nvd", NVD, "--format", "json"]
        for cpe in cpes:
            args += ["--cpe", cpe]
        result = run(None, *args)
        return result.returncode, (json.loads(result.stdout) if result.returncode == 0 else result.stderr)

    code, found = match("cpe:2.3:o:fortinet:fortios:7.2.6:*:*:*:*:*:*:*")
    check("vuln match prints a JSON array with cve, cpe and reason", code == 0 and len(found) == 1
          and found[0]["cve"] == "CVE-2024-21762" and found[0]["cpe"].startswith("cpe:2.3:o:fortinet:fortios:7.2.6")
          and "7.2.7" in found[0]["reason"], found)
    code, found = match("cpe:2.3:o:fortinet:fortios:7.2.7:*:*:*:*:*:*:*")
    check("vuln match prints [] when nothing matches", code == 0 and found == [], found)
    code, found = match("cpe:2.3:o:medtronic:minimed_paradigm_523_firmware:2.4a:*:*:*:*:*:*:*",
                        "cpe:2.3:h:medtronic:minimed_paradigm_523:-:*:*:*:*:*:*:*")
    check("firmware on its hardware matches the AND configuration", code == 0 and [f["cve"] for f in found] == ["CVE-2019-10964"], found)
    code, found = match("cpe:2.3:o:medtronic:minimed_paradigm_523_firmware:2.4a:*:*:*:*:*:*:*")
    check("firmware without its hardware does not", code == 0 and found == [], found)
    code, found = match("cpe:2.3:a:citrix:netscaler_application_delivery_controller:13.1-49.13:*:*:*:*:*:*:*")
    check("an ANY edition does not match criteria for '-' or 'fips' (NISTIR 7696)", code == 0 and found == [], found)
    code, error = match("cpe:2.3:broken")
    check("an invalid CPE is refused with a message and a non-zero exit", code != 0 and "11 attributes" in error, error)
    for a, b, scheme, expected in [("1.0.0-rc.1", "1.0.0", "semver", "-1"), ("1.0.0-rc.1", "1.0.0", "deb", "1"),
                                   ("1:1.0", "2.0", "deb", "1"), ("1.0~rc1", "1.0", "rpm", "-1"), ("2.4a", "2.4", "pep440", "-1"),
                                   ("2.4a", "2.4", "generic", "1"), ("10.2.9-h1", "10.2.9", "generic", "1"), ("v1.2", "1.2.0", "generic", "0")]:
        result = run(None, "vuln", "version-compare", a, b, "--scheme", scheme)
        check(f"version-compare {a} {b} --scheme {scheme} prints {expected}", result.stdout.strip() == expected, result.stdout + result.stderr)
    result = run(None, "vuln", "version-compare", "x.y", "1.0", "--scheme", "semver")
    check("version-compare refuses a non-version", result.returncode != 0 and "not a number" in result.stderr, result.stderr)


def main():
    contract()
    work = tempfile.mkdtemp(prefix=f"hygie-e2e-vuln-{ENGINE}-")
    if PG_URL:
        subprocess.run(["psql", PG_URL, "-qc", "DROP DATABASE IF EXISTS hygie_e2e_vuln WITH (FORCE)"], capture_output=True)
        subprocess.run(["psql", PG_URL, "-qc", "CREATE DATABASE hygie_e2e_vuln"], check=True, capture_output=True)
        ENV["HYGIE_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/hygie_e2e_vuln"
    check("migrate", run(work, "migrate").returncode == 0)
    est = run(work, "establishments", "add", "--name", "CH du Lys", "--finess", "999000033").stdout.strip()
    for kind, path, expected in [("kev", "kev_catalog.json", "1404 read"), ("nvd", "nvd_golden/nvd_api2_golden.json", "9 read"),
                                 ("csaf", "csaf_cisa/icsma", "read")]:
        result = run(work, "vuln", "import", "--kind", kind, os.path.join(DATA, path))
        check(f"{kind} data is imported", result.returncode == 0 and expected in result.stdout, result.stdout + result.stderr)
    broken = os.path.join(work, "broken.json")
    with open(broken, "w") as f:
        f.write(open(NVD).read()[:20000])
    result = run(work, "vuln", "import", "--kind", "nvd", broken)
    check("a truncated NVD file is refused with a message", result.returncode != 0 and "invalid JSON" in result.stderr, result.stderr)
    inventory = os.path.join(work, "inventaire.csv")
    with open(inventory, "w") as f:
        f.write("Nom;Type;Adresse IP;Exposé Internet;Criticité;Impact patient;Fabricant;Modèle;Firmware;Éditeur;Logiciel;Version;CPE\n"
                "fw-edge;network;203.0.113.1;oui;vitale;;Fortinet;FortiGate;;Fortinet;FortiOS;7.2.6;cpe:2.3:o:fortinet:fortios:*:*:*:*:*:*:*:*\n"
                "pacs;server;10.1.0.30;non;haute;marginal;Philips;Vue PACS;;Philips;Vue PACS;12.2.8.400;cpe:2.3:a:philips:vue_pacs:*:*:*:*:*:*:*:*\n"
                "moniteur-rea;medical_device;10.3.1.4;non;haute;critique;Phillips;IntelliBridge EC 40 Hub;C.00.03;;;;\n")
    result = run(work, "vuln", "inventory", "-e", est, inventory)
    check("a French spreadsheet is imported and matched", result.returncode == 0 and "3 new" in result.stdout, result.stdout + result.stderr)
    result = run(work, "vuln", "inventory", "-e", est, os.path.join(DATA, "nmap", "nmap_sample_localhost.xml"))
    check("an nmap report is imported", result.returncode == 0 and "1 read" in result.stdout, result.stdout + result.stderr)
    bad = os.path.join(work, "scan.xml")
    with open(bad, "w") as f:
        f.write("<nmaprun><host>")
    result = run(work, "vuln", "inventory", "-e", est, bad)
    check("a broken nmap report is refused", result.returncode != 0 and "XML" in result.stderr, result.stderr)
    report_json = json.loads(run(work, "vuln", "report", "-e", est, "--format", "json").stdout)
    check("the report counts the known-exploited flaw on the exposed firewall", report_json["kev_on_exposed_assets"] == 1
          and report_json["assets"] == 4 and report_json["medical_devices"] == 1, report_json)
    findings = json.loads(run(work, "vuln", "findings", "-e", est, "--format", "json").stdout)
    cves = {f["cve"] for f in findings}
    check("FortiOS, Vue PACS and the monitor's medical advisory are found", "CVE-2024-21762" in cves and "CVE-2023-40159" in cves
          and any(f["asset"] == "moniteur-rea" for f in findings), sorted(cves))
    forti = next(f for f in findings if f["cve"] == "CVE-2024-21762")
    check("the exposed, known-exploited flaw comes first as 'Act'", findings[0]["cve"] == "CVE-2024-21762"
          and forti["priority"] == "immediate" and forti["why"].startswith("Act"), findings[0])
    result = run(work, "vuln", "update", "-e", est, forti["id"], "--status", "risk_accepted", "--until", "2099-01-01")
    check("accepting a risk without a reason is refused", result.returncode != 0 and "note" in result.stderr, result.stderr)
    result = run(work, "vuln", "update", "-e", est, forti["id"], "--status", "in_progress", "--assignee", "Équipe réseau",
                 "--note", "FortiOS 7.2.7 ce soir")
    check("a status change is saved", result.returncode == 0 and "in_progress" in result.stdout, result.stdout + result.stderr)
    with open(inventory) as f:
        patched = f.read().replace("FortiOS;7.2.6", "FortiOS;7.2.7")
    with open(inventory, "w") as f:
        f.write(patched)
    result = run(work, "vuln", "inventory", "-e", est, inventory)
    check("a later import verifies the fix", result.returncode == 0 and "1 fixed" in result.stdout and "0 new" in result.stdout,
          result.stdout)
    fixed = json.loads(run(work, "vuln", "findings", "-e", est, "--status", "fixed", "--format", "json").stdout)
    check("the fixed finding is listed as fixed", [f["cve"] for f in fixed] == ["CVE-2024-21762"], fixed)
    csv = run(work, "vuln", "report", "-e", est, "--format", "csv").stdout
    check("the CSV report has a header and rows", csv.startswith("id,cve,title") and csv.count("\n") >= 2, csv[:200])
    # The nightly refresh, against feeds served on this machine: KEV, EPSS and NVD's API.
    feeds = os.path.join(work, "feeds")
    os.makedirs(feeds)
    with open(os.path.join(DATA, "kev_catalog.json")) as f, open(os.path.join(feeds, "kev.json"), "w") as out:
        out.write(f.read())
    with open(os.path.join(feeds, "epss.csv"), "w") as out:
        out.write("#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\n"
                  "CVE-2024-21762,0.94,0.999\nCVE-2023-40159,0.0012,0.31\n")
    with open(NVD) as f, open(os.path.join(feeds, "cves"), "w") as out:
        out.write(f.read())
    port = free_port()
    http = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", feeds],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        base = f"http://127.0.0.1:{port}"
        ENV.update({"HYGIE_VULN_KEV_URL": f"{base}/kev.json", "HYGIE_VULN_EPSS_URL": f"{base}/epss.csv",
                    "HYGIE_VULN_NVD_URL": f"{base}/cves"})
        result = run(work, "vuln", "refresh")
        check("vuln refresh downloads KEV, EPSS and NVD's changes", result.returncode == 0 and "kev: 1404 read" in result.stdout
              and "epss: 2 read" in result.stdout and "nvd: 9 read" in result.stdout, result.stdout + result.stderr)
        ENV["HYGIE_VULN_KEV_URL"] = "http://example.org/kev.json"
        result = run(work, "vuln", "refresh")
        check("a feed URL in clear to another machine is refused", result.returncode != 0 and "https" in result.stderr, result.stderr)
    finally:
        http.terminate()
        for key in ["HYGIE_VULN_KEV_URL", "HYGIE_VULN_EPSS_URL", "HYGIE_VULN_NVD_URL"]:
            ENV.pop(key, None)
    epss = json.loads(run(work, "vuln", "findings", "-e", est, "--status", "fixed", "--format", "json").stdout)
    check("findings still read after the refresh", isinstance(epss, list), epss)
    server = Server(BINARY, work, env=ENV).start()
    try:
        for path, status in [("/api/v1/vuln/findings", 401), ("/api/v1/vuln/summary", 401)]:
            try:
                code = urllib.request.urlopen(server.base + path, timeout=10).status
            except urllib.error.HTTPError as error:
                code = error.code
            check(f"{path} needs a token", code == status, code)
        opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                                  {"redirect_request": lambda *a, **k: None}))
        try:
            code = opener.open(server.base + "/vuln", timeout=10).status
        except urllib.error.HTTPError as error:
            code = error.code
        check("/vuln sends visitors to sign in", code == 303, code)
    finally:
        check("server stops cleanly", server.stop() == 0)


if __name__ == "__main__":
    report.run(main)
