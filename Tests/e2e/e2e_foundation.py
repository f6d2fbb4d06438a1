#!/usr/bin/env python3
"""End-to-end scenario of the foundation against the real `hygie` binary.

Usage: e2e_foundation.py BINARY [--postgres URL]
Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from hygie_client import Browser, Report, Server, api, totp  # noqa: E402

BINARY = sys.argv[1]
PG_URL = sys.argv[sys.argv.index("--postgres") + 1] if "--postgres" in sys.argv else None
ENGINE = "postgres" if PG_URL else "sqlite"
PASSWORD = "Correct-Horse-Battery-Staple-42"
report = Report(ENGINE)
check = report.check


def run_cli(*args, env=None, stdin=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([BINARY, *args], input=stdin, capture_output=True, text=True, env=e, timeout=120)


def enrol(browser):
    page = browser.get("/mfa/enrol")
    secret = re.search(r'<code id="secret" class="secret">([A-Z2-7 ]+)</code>', page.text).group(1)
    qr = browser.get("/mfa/enrol/qr.svg")
    check("enrolment QR code is an SVG drawn by Hygie", qr.status == 200 and qr.text.startswith("<svg"))
    token = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    response = browser.post("/mfa/enrol", {"_csrf": token, "code": totp(secret)})
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", response.text)
    return secret, response, codes


def login(base, email, password, secret=None):
    browser = Browser(base)
    token, _ = browser.csrf("/login")
    response = browser.post("/login", {"_csrf": token, "email": email, "password": password})
    if secret and response.headers.get("Location") == "/mfa":
        token, _ = browser.csrf("/mfa")
        # Wait for the next time step if needed: a code already used is refused (replay guard).
        response = browser.post("/mfa", {"_csrf": token, "code": totp(secret)})
        if response.status != 303:
            time.sleep(31 - time.time() % 30)
            token, _ = browser.csrf("/mfa")
            response = browser.post("/mfa", {"_csrf": token, "code": totp(secret)})
    return browser, response


def main():
    work = tempfile.mkdtemp(prefix=f"hygie-e2e-{ENGINE}-")
    env = {"HYGIE_SECURITY_BCRYPT_COST": "4"}
    if PG_URL:
        env["HYGIE_DATABASE_URL"] = PG_URL
        migrate = run_cli("migrate", "--data-dir", work, env=env)
        check("hygie migrate applies the migrations on PostgreSQL", migrate.returncode == 0, migrate.stderr[-500:])
        env["HYGIE_SECURITY_SECRET_KEY"] = "c2hhcmVkLWluc3RhbmNlLWtleS0zMi1ieXRlcy0hISE="
    server = Server(BINARY, work, env=env).start()
    check("hygie serve becomes ready", True)
    print(f"info [{ENGINE}] time to ready: {server.ready_after * 1000:.0f} ms")
    base = server.base

    # First admin through the one-time setup link.
    link = server.setup_link()
    check("a setup link is printed while no user exists", link is not None)
    admin = Browser(base)
    token, page = admin.csrf(link)
    check("the setup page opens", page.status == 200)
    weak = admin.post("/setup", {"_csrf": token, "token": link.split("=")[1], "email": "admin@chu-e2e.example", "display_name": "Ada Admin", "password": "password1234", "password_confirm": "password1234"})
    check("a common password is refused at setup, in French", weak.status == 422 and "trop courant" in weak.text, weak.status)
    token, _ = admin.csrf(link)
    created = admin.post("/setup", {"_csrf": token, "token": link.split("=")[1], "email": "admin@chu-e2e.example", "display_name": "Ada Admin", "password": PASSWORD, "password_confirm": PASSWORD})
    check("the first admin is created and sent to MFA enrolment", created.status == 303 and created.headers["Location"] == "/mfa/enrol", created.status)
    check("the setup link works only once", Browser(base).get(link).status == 404)
    check("pages wait for the second factor", admin.get("/dashboard").headers.get("Location") == "/mfa")
    admin_secret, enrolled, codes = enrol(admin)
    check("TOTP enrolment gives 10 recovery codes", len(codes) == 10, len(codes))
    dashboard = admin.get("/dashboard")
    check("the dashboard opens after enrolment", dashboard.status == 200 and "Tableau de bord" in dashboard.text)
    for header, expected in [("Content-Security-Policy", "frame-ancestors 'none'"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin")]:
        check(f"security header {header}", expected in (dashboard.headers.get(header) or ""))
    check("CSP has no unsafe-inline", "unsafe-inline" not in dashboard.headers.get("Content-Security-Policy", ""))
    cookie_header = enrolled.headers.get("Set-Cookie", "")
    check("session cookie is HttpOnly and SameSite=Strict", "HttpOnly" in cookie_header and "SameSite=Strict" in cookie_header, cookie_header)

    # Establishments A and B, with departments, users and tokens.
    ids = {}
    for name, finess in [("CHU Alpha", "750000018"), ("CH Beta", "690000015")]:
        r = admin.form("/admin/establishments", "/admin/establishments", {"name": name, "finess": finess, "kind": "chu"})
        check(f"establishment {name} is created", r.status == 303, r.status)
    r = admin.form("/admin/establishments", "/admin/regions", {"name": "Auvergne-Rhône-Alpes", "code": "ara"})
    check("a region is created", r.status == 303, r.status)
    region_id = re.search(r'<option value="([0-9a-f-]{36})">Auvergne-Rhône-Alpes</option>', admin.get("/admin/establishments").text)
    r = admin.form("/admin/establishments", "/admin/groups", {"name": "GHT Loire", "region_id": region_id.group(1) if region_id else ""})
    check("a hospital group (GHT) is created in the region", region_id and r.status == 303)
    listing = admin.get("/admin/establishments").text
    options = dict((m[1], m[0]) for m in re.findall(r'<option value="([0-9a-f-]{36})"[^>]*>([^<]+)</option>', admin.get("/dashboard").text))
    ids["A"], ids["B"] = options.get("CHU Alpha"), options.get("CH Beta")
    check("the establishment switcher lists both", ids["A"] and ids["B"], options)
    check("FINESS numbers are listed", "750000018" in listing)

    def switch(browser, key):
        return browser.form("/dashboard", "/establishment/switch", {"establishment_id": ids[key]})

    objects = {}
    for key in ["A", "B"]:
        switch(admin, key)
        r = admin.form("/departments", "/departments", {"code": f"URG{key}", "name": f"Urgences {key}", "kind": "clinical"})
        check(f"department created in {key}", r.status == 303, r.status)
        dept = re.search(r'action="/departments/([0-9a-f-]{36})/delete"', admin.get("/departments").text)
        objects[f"dept{key}"] = dept.group(1)
        r = admin.form("/users", "/users", {"display_name": f"Rita RSSI {key}", "email": f"rssi.{key.lower()}@chu-e2e.example", "role": "rssi", "password": PASSWORD})
        check(f"RSSI user created in {key}", r.status == 303, r.status)
        users = admin.get("/users").text
        objects[f"user{key}"] = re.search(r'href="/users/([0-9a-f-]{36})">Rita RSSI ' + key, users).group(1)
        r = admin.form("/tokens", "/tokens", {"name": f"siem-{key}", "role": "rssi", "expires_in_days": "30"})
        objects[f"token{key}"] = re.search(r'<code id="new-token" class="secret">(hyg_[A-Za-z0-9_-]+)</code>', r.text).group(1)
        objects[f"tokenid{key}"] = re.search(r'action="/tokens/([0-9a-f-]{36})/revoke"', r.text).group(1)
        check(f"API token created in {key} and shown once", objects[f"token{key}"].startswith("hyg_"))

    # SQL metacharacters are data, not code.
    switch(admin, "A")
    nasty = "O'Brien\"; DROP TABLE core_users; --"
    r = admin.form("/departments", "/departments", {"code": "SQLI", "name": nasty, "kind": "administrative"})
    page = admin.get("/departments").text
    check("SQL metacharacters are stored verbatim and escaped in HTML", r.status == 303 and "O&#39;Brien&quot;; DROP TABLE core_users; --" in page.replace("&#x27;", "&#39;"), r.status)
    xss = admin.form("/departments", "/departments", {"code": "XSS", "name": "<script>alert(1)</script>", "kind": "administrative"})
    check("HTML in names is escaped", xss.status == 303 and "<script>alert(1)</script>" not in admin.get("/departments").text)

    # CSRF.
    no_token = admin.post("/departments", {"code": "NOCSRF", "name": "x", "kind": "clinical"})
    check("an unsafe form post without CSRF token is refused", no_token.status == 403, no_token.status)
    wrong_token = admin.post("/departments", {"code": "NOCSRF", "name": "x", "kind": "clinical", "_csrf": "forged"})
    check("a wrong CSRF token is refused", wrong_token.status == 403, wrong_token.status)
    token, _ = admin.csrf("/departments")
    cross = admin.post("/departments", {"code": "NOCSRF", "name": "x", "kind": "clinical", "_csrf": token}, headers={"Sec-Fetch-Site": "cross-site"})
    check("a cross-site form post is refused even with a token", cross.status == 403, cross.status)
    check("no department was created by refused posts", "NOCSRF" not in admin.get("/departments").text)

    # Tenant isolation: the RSSI of A sees nothing of B.
    rssi_a, first = login(base, "rssi.a@chu-e2e.example", PASSWORD)
    check("RSSI must enrol MFA at first sign-in", first.headers.get("Location") == "/mfa/enrol", first.headers.get("Location"))
    enrol(rssi_a)
    check("RSSI of A opens its users page", rssi_a.get("/users").status == 200)
    for path in [f"/users/{objects['userB']}"]:
        check(f"page {path} of B is 404 for A", rssi_a.get(path).status == 404)
    for path in [f"/departments/{objects['deptB']}/delete", f"/users/{objects['userB']}/role", f"/users/{objects['userB']}/remove", f"/tokens/{objects['tokenidB']}/revoke"]:
        check(f"POST {path} of B is 404 for A", rssi_a.form("/users", path, {"role": "staff"}).status == 404)
    check("switching to B is 404 for A", switch(rssi_a, "B").status == 404)
    tok_a = objects["tokenA"]
    for method, path in [("GET", f"/api/v1/departments/{objects['deptB']}"), ("DELETE", f"/api/v1/departments/{objects['deptB']}"), ("GET", f"/api/v1/users/{objects['userB']}"), ("DELETE", f"/api/v1/tokens/{objects['tokenidB']}")]:
        status, body = api(base, method, path, tok_a)
        check(f"API {method} {path.split('/')[3]} of B is 404 with A's token", status == 404 and body["error"]["code"] == "not_found", status)
    status, body = api(base, "GET", "/api/v1/departments", tok_a)
    check("API lists only A's departments", status == 200 and {d["code"] for d in body["items"]} >= {"URGA"} and "URGB" not in {d["code"] for d in body["items"]}, body)
    status, body = api(base, "GET", f"/api/v1/departments/{objects['deptB']}", objects["tokenB"])
    check("B's token reads B's department", status == 200 and body["code"] == "URGB", status)
    status, body = api(base, "GET", "/api/v1/me", "hyg_forged")
    check("a forged bearer token gets 401 with the error body", status == 401 and "request_id" in body["error"], status)
    status, doc = api(base, "GET", "/api/v1/openapi.json")
    check("OpenAPI 3.1 document is served", status == 200 and doc["openapi"] == "3.1.0" and "/api/v1/departments/{id}" in doc["paths"])

    # Bad input over HTTP.
    forged = Browser(base)
    forged.jar.set_cookie(__import__("http.cookiejar").cookiejar.Cookie(0, "hygie_session", "A" * 43, None, False, "127.0.0.1", False, False, "/", True, False, None, True, None, None, {}))
    check("a forged session cookie leads to sign-in", forged.get("/dashboard").headers.get("Location") == "/login")
    big = api(base, "POST", "/api/v1/departments", tok_a, raw=b"{" + b" " * (2 << 20) + b"}", headers={"Content-Type": "application/json"})
    check("an oversized body gets 413", big[0] == 413, big[0])
    bad_utf8 = admin.request("POST", "/departments", raw=b"_csrf=" + admin.csrf("/departments")[0].encode() + b"&code=X&name=%FF%FE&kind=clinical", headers={"Content-Type": "application/x-www-form-urlencoded"})
    check("invalid UTF-8 in a form gets 400", bad_utf8.status == 400, bad_utf8.status)
    bad_json = api(base, "POST", "/api/v1/departments", tok_a, raw=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    check("invalid JSON gets 400 with a message", bad_json[0] == 400 and bad_json[1]["error"]["message"], bad_json)
    check("metrics are exposed", "hygie_http_requests_total" in Browser(base).get("/metrics").text)

    # Throttling: five wrong passwords lock the account for a while.
    for _ in range(5):
        login(base, "rssi.b@chu-e2e.example", "wrong-password-123")
    _, locked = login(base, "rssi.b@chu-e2e.example", PASSWORD)
    check("sign-in is throttled after repeated failures", locked.status == 429 and locked.headers.get("Retry-After"), locked.status)

    # Restart; audit chain verifies; tamper and see it fail.
    code = server.stop()
    check("SIGTERM stops the server cleanly", code == 0, code)
    server = Server(BINARY, work, env=env, port=server.port).start()
    again, _ = login(base, "admin@chu-e2e.example", PASSWORD, admin_secret)
    check("the admin signs in again after restart (TOTP)", again.get("/dashboard").status == 200)
    audit = again.get("/audit").text
    check("the audit page lists logins and changes", "auth.login" in audit and "department.create" in audit and "auth.login.failed" in audit)
    server.stop()
    verify = run_cli("audit", "verify", "--data-dir", work, env=env)
    check("hygie audit verify passes", verify.returncode == 0 and "intact" in verify.stdout, verify.stdout + verify.stderr)
    if PG_URL:
        subprocess.run(["psql", PG_URL, "-qc", "UPDATE core_audit_events SET summary = 'nothing happened' WHERE sequence = 3"], check=True, capture_output=True)
    else:
        db = sqlite3.connect(os.path.join(work, "hygie.sqlite"))
        db.execute("UPDATE core_audit_events SET summary = 'nothing happened' WHERE sequence = 3")
        db.commit()
        db.close()
    verify = run_cli("audit", "verify", "--data-dir", work, env=env)
    check("hygie audit verify finds the tampered event", verify.returncode == 1 and "#3" in verify.stdout, verify.stdout + verify.stderr)

    # Backup (SQLite) and CLI errors.
    if not PG_URL:
        backup = run_cli("backup", "--data-dir", work, "--output", os.path.join(work, "copy.sqlite"), env=env)
        copy = sqlite3.connect(os.path.join(work, "copy.sqlite"))
        count = copy.execute("SELECT COUNT(*) FROM core_audit_events").fetchone()[0]
        copy.close()
        check("hygie backup writes a usable copy", backup.returncode == 0 and count > 10, backup.stderr)
    bad_config = os.path.join(work, "bad.yaml")
    with open(bad_config, "w") as f:
        f.write("hygie:\n  http:\n    port: huit\n  databse:\n    url: x\n  log:\n    level: loud\n")
    bad = run_cli("serve", "--config", bad_config, "--data-dir", work)
    check("a malformed config is refused with every bad key listed", bad.returncode != 0 and all(k in bad.stderr for k in ["hygie.http.port", "hygie.databse.url", "hygie.log.level"]), bad.stderr)
    unreachable = run_cli("serve", "--data-dir", work, env={"HYGIE_DATABASE_URL": "postgres://hygie:secret-pw@127.0.0.1:1/nothing", "HYGIE_DATABASE_AUTO_MIGRATE": "true"})
    check("an unreachable database gives a clear error", unreachable.returncode != 0 and "database" in unreachable.stderr.lower() and "secret-pw" not in unreachable.stderr, unreachable.stderr[-400:])
    admin_cli = run_cli("create-admin", "--data-dir", work, "--email", "second@chu-e2e.example", "--name", "Second Admin", env=env, stdin="short\n")
    check("create-admin refuses a short password", admin_cli.returncode != 0 and "12" in admin_cli.stderr, admin_cli.stderr)

    if not PG_URL:
        # HTTPS with a certificate: HSTS and Secure cookies.
        cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
        tls = Server(BINARY, work, env=env, args=["--tls-certificate", cert, "--tls-key", key], scheme="https").start()
        import ssl
        import urllib.request
        context = ssl.create_default_context(cafile=cert)
        context.check_hostname = False
        with urllib.request.urlopen(tls.base + "/login", context=context, timeout=10) as page:
            check("HTTPS serves pages with HSTS", page.status == 200 and "max-age" in (page.headers.get("Strict-Transport-Security") or ""))
            check("pre-session cookies are Secure under TLS", "Secure" in (page.headers.get("Set-Cookie") or ""))
        check("the TLS server stops cleanly", tls.stop() == 0)

        # Demo data: a newcomer can sign in and look around.
        demo_dir = os.path.join(work, "demo")
        demo = run_cli("demo", "--data-dir", demo_dir, env=env)
        password = re.search(r"the password (\S+)", demo.stdout)
        check("hygie demo seeds a hospital and prints the demo password", demo.returncode == 0 and password, demo.stdout + demo.stderr)
        again = run_cli("demo", "--data-dir", demo_dir, env=env)
        check("hygie demo is idempotent", again.returncode == 0 and "already present" in again.stdout, again.stdout)
        demo_server = Server(BINARY, demo_dir, env=env).start()
        nurse, response = login(demo_server.base, "infirmiere.urgences@valbrune.example", password.group(1))
        check("a demo staff member signs in without second factor", response.headers.get("Location") == "/dashboard" and nurse.get("/dashboard").status == 200)
        _, response = login(demo_server.base, "rssi@valbrune.example", password.group(1))
        check("the demo RSSI is asked to enrol TOTP", response.headers.get("Location") == "/mfa/enrol")
        check("the demo server stops cleanly", demo_server.stop() == 0)

    if PG_URL:
        # Two nodes on one PostgreSQL, side by side.
        node1 = Server(BINARY, os.path.join(work, "n1"), env=env).start()
        node2 = Server(BINARY, os.path.join(work, "n2"), env=env).start()
        s1, b1 = api(node1.base, "POST", "/api/v1/departments", objects["tokenB"], {"name": "Pharmacie", "code": "PHARMA-N1", "kind": "medico-technical"})
        s2, b2 = api(node2.base, "GET", f"/api/v1/departments/{b1['id']}", objects["tokenB"]) if s1 == 201 else (0, None)
        check("two nodes share one PostgreSQL (write on 1, read on 2)", s1 == 201 and s2 == 200, (s1, s2))
        browser, response = login(node2.base, "admin@chu-e2e.example", PASSWORD, admin_secret)
        dash = browser.get("/dashboard")
        check("a session works on the other node", dash.status == 200, (response.status, response.headers.get("Location"), dash.status, dash.headers.get("Location"), response.text[-300:]))
        check("both nodes stop cleanly", node1.stop() == 0 and node2.stop() == 0)
        verify = run_cli("audit", "verify", "--data-dir", work, env=env)
        check("audit chain written by two nodes stays linked until the tampered event", "#3" in verify.stdout)

    if report.failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"info [{ENGINE}] logs kept in {work}")


if __name__ == "__main__":
    report.run(main)
