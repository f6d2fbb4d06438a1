#!/usr/bin/env python3
"""End-to-end threat-intelligence scenario with two real `hygie serve` instances: a regional hub and a hospital.

The hub shares a collection over TAXII; the hospital pulls it with a feed, an event in its logs hits a shared
indicator (alert + sighting), the hospital publishes its sightings and pushes them back to the hub, anonymised.
Also: TLP ceilings across the federation, CSV and MISP imports, malformed and oversized content, and
stix2-validator over every object Hygie emitted (Python from .venv-conformance, given with --python).

Usage: e2e_intel.py BINARY --python PYTHON [--postgres URL]
Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from hygie_client import Report, Server  # noqa: E402

BINARY = sys.argv[1]
PYTHON = sys.argv[sys.argv.index("--python") + 1]
PG_URL = sys.argv[sys.argv.index("--postgres") + 1] if "--postgres" in sys.argv else None
ENGINE = "postgres" if PG_URL else "sqlite"
report = Report(f"intel-{ENGINE}")
check = report.check
TAXII = "application/taxii+json;version=2.1"
ENV = {"HYGIE_SECURITY_BCRYPT_COST": "4", "HYGIE_LOG_LEVEL": "warning",
       "HYGIE_SECURITY_SECRET_KEY": "c2hhcmVkLWluc3RhbmNlLWtleS0zMi1ieXRlcy0hISE="}


def cli(work, env, *args, stdin=None):
    result = subprocess.run([BINARY, *args, "--data-dir", work], capture_output=True, text=True,
                            env=dict(os.environ, **env), timeout=300, input=stdin)
    return result


def out(work, env, *args, stdin=None):
    result = cli(work, env, *args, stdin=stdin)
    if result.returncode != 0:
        raise RuntimeError(f"hygie {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout.strip()


def fresh_database(name):
    dbname = f"hygie_e2e_intel_{name}"
    subprocess.run(["psql", PG_URL, "-qc", f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"], capture_output=True)
    subprocess.run(["psql", PG_URL, "-qc", f"CREATE DATABASE {dbname}"], check=True, capture_output=True)
    return PG_URL.rsplit("/", 1)[0] + "/" + dbname


def instance(name):
    work = tempfile.mkdtemp(prefix=f"hygie-e2e-intel-{name}-{ENGINE}-")
    env = dict(ENV)
    if PG_URL:
        env["HYGIE_DATABASE_URL"] = fresh_database(name)
        out(work, env, "migrate")
    return work, env


def request(url, method="GET", auth=None, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Accept", TAXII)
    if auth:
        req.add_header("Authorization", auth)
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def basic(user, secret):
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def indicator(n, value, tlp_id, kind="ipv4-addr"):
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{n:08d}-aaaa-4bbb-8ccc-000000000000",
            "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
            "name": f"Hub IOC {n}", "indicator_types": ["malicious-activity"], "pattern_type": "stix",
            "pattern": f"[{kind}:value = '{value}']", "valid_from": "2026-11-01T00:00:00Z",
            "object_marking_refs": [tlp_id]}


GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


def validate(objects, label):
    """Runs stix2-validator on each object; returns the list of problems."""
    script = (
        "import json,sys\n"
        "from stix2validator import ValidationOptions, validate_instance\n"
        "bad=[]\n"
        "for o in json.load(sys.stdin):\n"
        "    r=validate_instance(o, ValidationOptions(version='2.1'))\n"
        "    if not r.is_valid: bad.append(o.get('id','?')+': '+'; '.join(str(e) for e in r.errors)[:200])\n"
        "print(json.dumps(bad))\n")
    result = subprocess.run([PYTHON, "-c", script], input=json.dumps(objects), capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        return [f"validator crashed on {label}: {result.stderr[-300:]}"]
    return json.loads(result.stdout)


def main():
    hub_work, hub_env = instance("hub")
    hospital_work, hospital_env = instance("hospital")
    hub_est = out(hub_work, hub_env, "establishments", "add", "--name", "ARS Hub régional", "--kind", "authority")
    regional = out(hub_work, hub_env, "intel", "create-collection", "-e", hub_est, "--title", "Regional IOCs", "--tlp", "amber")
    inbox = out(hub_work, hub_env, "intel", "create-collection", "-e", hub_est, "--title", "Member sightings", "--tlp", "amber")
    secret = out(hub_work, hub_env, "intel", "create-account", "-e", hub_est, "--username", "ch-lys",
                 "--organisation", "CH du Lys", "--max-tlp", "amber", "--quiet")
    out(hub_work, hub_env, "intel", "grant", "-e", hub_est, "--collection", regional, "--account", "ch-lys", "--read")
    out(hub_work, hub_env, "intel", "grant", "-e", hub_est, "--collection", inbox, "--account", "ch-lys", "--write")
    bundle = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [
        indicator(1, "185.220.101.45", GREEN), indicator(2, "malicious-update.example", AMBER, "domain-name"),
        indicator(3, "91.215.85.12", RED), indicator(4, "10.20.30.40", GREEN)]}
    path = os.path.join(hub_work, "bundle.json")
    with open(path, "w") as f:
        json.dump(bundle, f)
    imported = out(hub_work, hub_env, "intel", "import", "-e", hub_est, "--collection", regional, path)
    check("hub imports a STIX bundle", "4 stored" in imported, imported)

    hub = Server(BINARY, hub_work, env=dict(hub_env, HYGIE_INGEST_ENABLED="false")).start()
    try:
        # Malformed and oversized content over TAXII: clear 4xx, nothing stored.
        auth = basic("ch-lys", secret)
        root = f"{hub.base}/taxii2/{hub_est}/collections/{inbox}/objects/"
        for label, body in [("truncated JSON", b'{"objects": ['), ("invalid UTF-8", b'{"objects":[{"name":"\xc3\x28"}]}'),
                            ("deep nesting", b'{"objects":[' + b"[" * 3000 + b"]" * 3000 + b"]}")]:
            status, text, headers = request(root, "POST", auth, body, {"Content-Type": TAXII})
            check(f"TAXII refuses {label} with 400 and a TAXII error", status == 400 and headers.get("Content-Type") == TAXII
                  and b"title" in text, f"HTTP {status} {text[:120]}")
        # curl, like most clients, stops sending when the server answers early (urllib would keep writing).
        big = os.path.join(hub_work, "big.json")
        with open(big, "wb") as f:
            f.write(b'{"objects":[{"x":"' + b"a" * (11 << 20) + b'"}]}')
        status = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "60", "-X", "POST",
                                 "-H", f"Content-Type: {TAXII}", "-H", f"Accept: {TAXII}", "-H", f"Authorization: {auth}",
                                 "--data-binary", f"@{big}", root], capture_output=True, text=True).stdout
        check("TAXII refuses a body above max_content_length with 413", status == "413", f"HTTP {status}")
        status, text, _ = request(f"{hub.base}/taxii2/{hub_est}/collections/{regional}/objects/", auth=auth)
        names = sorted(o["name"] for o in json.loads(text).get("objects", []))
        check("the partner account reads GREEN and AMBER, never RED", names == ["Hub IOC 1", "Hub IOC 2", "Hub IOC 4"], names)

        # The hospital subscribes to the hub's collection.
        hospital_est = out(hospital_work, hospital_env, "establishments", "add", "--name", "CH du Lys", "--finess", "999000033")
        from_hub = out(hospital_work, hospital_env, "intel", "create-collection", "-e", hospital_est, "--title", "From the hub",
                       "--tlp", "amber")
        ours = out(hospital_work, hospital_env, "intel", "create-collection", "-e", hospital_est, "--title", "Our sightings",
                   "--tlp", "amber")
        out(hospital_work, hospital_env, "intel", "create-feed", "-e", hospital_est, "--name", "hub", "--direction", "pull",
            "--url", f"{hub.base}/taxii2/{hub_est}/collections/{regional}/", "--username", "ch-lys", "--secret-stdin",
            "--collection", from_hub, "--interval", "15", stdin=secret + "\n")
        synced = cli(hospital_work, hospital_env, "intel", "sync", "-e", hospital_est, "hub")
        check("pull feed copies the shared objects", synced.returncode == 0 and "3 object(s)" in synced.stdout,
              synced.stdout + synced.stderr)
        again = cli(hospital_work, hospital_env, "intel", "sync", "-e", hospital_est, "hub")
        check("a second pull starts from the cursor (nothing new)", again.returncode == 0 and "0 object(s)" in again.stdout,
              again.stdout)
        out(hospital_work, hospital_env, "intel", "settings", "-e", hospital_est, "--own-domains", "ch-lys.example",
            "--anonymise-upward", "true")

        # An event in the hospital's logs hits a shared indicator.
        created = out(hospital_work, hospital_env, "sources", "add", "-e", hospital_est, "--name", "proxy")
        token = created.split("(shown once): ")[1].split()[0]
        hospital = Server(BINARY, hospital_work, env=hospital_env).start()
        try:
            time.sleep(2.5)  # the indicator snapshot refreshes every two seconds
            events = "\n".join(json.dumps(e) for e in [
                {"Computer": "PC-URG-07", "DestinationIp": "185.220.101.45", "User": "LYS\\ide"},
                {"Computer": "PC-URG-08", "DestinationIp": "10.20.30.40"},
                {"Computer": "PC-URG-09", "QueryName": "www.ch-lys.example"}]).encode()
            req = urllib.request.Request(hospital.base + "/api/v1/ingest", data=events, method="POST",
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
            with urllib.request.urlopen(req, timeout=30) as response:
                check("hospital accepts the events", response.status == 202)
            deadline = time.time() + 60
            alerts = []
            while time.time() < deadline:
                listed = cli(hospital_work, hospital_env, "alerts", "list", "-e", hospital_est, "--json")
                alerts = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
                if any(a["kind"] == "ioc" for a in alerts):
                    break
                time.sleep(0.5)
            ioc = [a for a in alerts if a["kind"] == "ioc"]
            check("the shared indicator raises one IOC alert (private address warning-listed)",
                  len(ioc) == 1 and ioc[0]["rule_id"] == "ioc:indicator--00000001-aaaa-4bbb-8ccc-000000000000"
                  and ioc[0]["host"] == "PC-URG-07", ioc)
            sightings = out(hospital_work, hospital_env, "intel", "sightings", "-e", hospital_est)
            check("the hit is recorded as a sighting", "indicator--00000001" in sightings and "\t1\t" in sightings, sightings)
        finally:
            hospital.stop()

        published = out(hospital_work, hospital_env, "intel", "publish-sightings", "-e", hospital_est, "--collection", ours)
        check("sightings published into a local collection", published.startswith("1 new"), published)
        out(hospital_work, hospital_env, "intel", "create-feed", "-e", hospital_est, "--name", "to-hub", "--direction", "push",
            "--url", f"{hub.base}/taxii2/{hub_est}/collections/{inbox}/", "--username", "ch-lys", "--secret-stdin",
            "--collection", ours, "--interval", "15", "--max-tlp", "amber", stdin=secret + "\n")
        pushed = cli(hospital_work, hospital_env, "intel", "sync", "-e", hospital_est, "to-hub")
        check("push feed sends the sightings to the hub", pushed.returncode == 0 and "1 object(s)" in pushed.stdout,
              pushed.stdout + pushed.stderr)
        received = json.loads(out(hub_work, hub_env, "intel", "export", "-e", hub_est, "--collection", inbox))
        got = [o for o in received["objects"] if o["type"] == "sighting"]
        check("the hub holds an anonymised sighting without internal detail",
              len(got) == 1 and "where_sighted_refs" not in got[0] and "created_by_ref" not in got[0]
              and "PC-URG" not in json.dumps(got[0]) and got[0]["count"] == 1, got)

        # CSV and MISP imports on the hospital, then everything Hygie emitted goes through stix2-validator.
        csv = "type,value,name,description,tlp\nip,45.155.205.233,Scanner,,green\nsha256," + "ab" * 32 + ",Dropper,,amber\n"
        csv_path = os.path.join(hospital_work, "iocs.csv")
        with open(csv_path, "w") as f:
            f.write(csv)
        check("CSV import", "3 stored" in out(hospital_work, hospital_env, "intel", "import", "-e", hospital_est,
                                                "--collection", ours, csv_path))
        misp = {"Event": {"info": "Phishing wave", "uuid": "9a0f3c2e-6a7b-4c1d-8e9f-0a1b2c3d4e5f", "date": "2026-11-20",
                          "Tag": [{"name": "tlp:green"}],
                          "Attribute": [{"type": "url", "value": "https://login-ch-lys.example/owa", "to_ids": True,
                                         "uuid": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"}]}}
        misp_path = os.path.join(hospital_work, "misp.json")
        with open(misp_path, "w") as f:
            json.dump(misp, f)
        check("MISP import", "2 stored" in out(hospital_work, hospital_env, "intel", "import", "-e", hospital_est,
                                                 "--collection", ours, misp_path))
        emitted = json.loads(out(hospital_work, hospital_env, "intel", "export", "-e", hospital_est, "--collection", ours))
        objects = emitted["objects"] + got + [emitted]
        problems = validate(objects, "export")
        check(f"stix2-validator accepts all {len(objects)} emitted objects and bundles", not problems, problems[:3])
    finally:
        hub.stop()


if __name__ == "__main__":
    report.run(main)
