"""Small HTTP client and helpers shared by Hygie's end-to-end tests (standard library only)."""
import base64
import hashlib
import hmac
import http.cookiejar
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request


def totp(secret_b32, at=None, step=30):
    key = base64.b32decode(secret_b32.replace(" ", "").upper() + "=" * (-len(secret_b32.replace(" ", "")) % 8))
    counter = int((at if at is not None else time.time()) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


class Browser:
    """A cookie-keeping client that does not follow redirects (tests look at them)."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, method, path, data=None, headers=None, raw=None):
        body = raw
        hdrs = dict(headers or {})
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=hdrs)
        try:
            with self.opener.open(req, timeout=30) as r:
                return Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, data=None, **kw):
        return self.request("POST", path, data=data if data is not None else {}, **kw)

    def csrf(self, path):
        page = self.get(path)
        match = re.search(r'name="_csrf" value="([^"]+)"', page.text)
        return match.group(1) if match else None, page

    def form(self, page_path, action, fields):
        token, _ = self.csrf(page_path)
        return self.post(action, dict(fields, _csrf=token))

    def cookie(self, name):
        for c in self.jar:
            if c.name == name:
                return c.value
        return None


def api(base, method, path, token=None, payload=None, raw=None, headers=None):
    import json
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    body = raw
    if payload is not None:
        body = json.dumps(payload).encode()
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=body, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
            return r.status, (json.loads(data) if data and r.headers.get("Content-Type", "").startswith("application/json") else data)
    except urllib.error.HTTPError as e:
        data = e.read()
        try:
            return e.code, json.loads(data)
        except Exception:
            return e.code, data


class Server:
    """Runs `hygie serve` on a free loopback port until /health answers."""

    def __init__(self, binary, data_dir, env=None, port=None, args=None, scheme="http"):
        self.scheme = scheme
        self.binary = binary
        self.data_dir = data_dir
        self.env = dict(os.environ, **(env or {}))
        self.port = port or free_port()
        self.args = args or []
        self.proc = None
        self.log_path = os.path.join(data_dir, f"serve-{self.port}.log")

    @property
    def base(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self, timeout=60):
        os.makedirs(self.data_dir, exist_ok=True)
        self.log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data-dir", self.data_dir, "--port", str(self.port)] + self.args,
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hygie serve exited with {self.proc.returncode}: {self.output()[-2000:]}")
            try:
                import ssl
                insecure = ssl._create_unverified_context()  # readiness probe only; tests verify TLS themselves
                with urllib.request.urlopen(self.base + "/health/ready", timeout=2, context=insecure) as r:
                    if r.status == 200:
                        self.ready_after = time.monotonic() - self.started_at
                        return self
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("hygie serve did not become ready: " + self.output()[-2000:])

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def setup_link(self):
        links = re.findall(r"(/setup\?token=[A-Za-z0-9_-]+)", self.output())
        return links[-1] if links else None

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return -9
        self.log.close()
        return self.proc.returncode


class Report:
    """Counts checks, prints one line each and ends with `N passed, N failed` (the line CI reads)."""

    def __init__(self, label):
        self.label = label
        self.passed = 0
        self.failed = 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok   [{self.label}] {name}")
        else:
            self.failed += 1
            print(f"FAIL [{self.label}] {name} {detail}")
        return bool(condition)

    def run(self, main):
        """Runs `main`, counts an unexpected exception as a failure, prints the summary and exits."""
        try:
            main()
        except Exception:
            traceback.print_exc()
            self.failed += 1
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def metrics(base):
    """The Prometheus exposition of /metrics as {"name{labels}": value}."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


class SMTPSink:
    """A loopback SMTP server that keeps every message it is given (`mails`, as text), for mail checks."""

    def __init__(self):
        import socketserver
        import threading
        self.mails = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 sink ESMTP\r\n")
                data, in_data = [], False
                for raw in self.rfile:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if in_data:
                        if line == ".":
                            sink.mails.append("\n".join(data))
                            data, in_data = [], False
                            self.wfile.write(b"250 queued\r\n")
                        else:
                            data.append(line[1:] if line.startswith("..") else line)
                        continue
                    verb = line.split(" ")[0].upper()
                    if verb == "EHLO":
                        self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
                    elif verb == "DATA":
                        in_data = True
                        self.wfile.write(b"354 go on\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()

