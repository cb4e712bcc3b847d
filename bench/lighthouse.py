"""`make lighthouse`: what a phone downloads and how soon it paints, as Lighthouse scores it.

Starts the app (production settings, gunicorn) on the demo data with one published pop-up, logs
in as the demo buyer and the demo admin, and runs Lighthouse's performance category at its mobile
preset (simulated slow 4G and a mid-range phone) on the buyer's shop page and Message History,
with Debian's Chromium. jsDelivr cannot be reached from here, so a local HTTPS server stands in
for it with the same bytes (the vendored copies, brotli-compressed as jsDelivr sends them) and
Chromium is told that cdn.jsdelivr.net is this machine: pages load their pinned CDN files as in
production (LIGHTHOUSE_CDN=blocked blocks them instead, to measure the app's own copies taking
over). "own bytes" are the page and its same-site files besides images, as the budget counts
them; "all bytes" add the CDN files. Prints each page's median of LIGHTHOUSE_RUNS runs (default 3).
"""
import http.cookiejar
import http.server
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import brotli
from sqlalchemy import create_engine, text

from config import Config

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LIGHTHOUSE = Path(os.environ.get("LIGHTHOUSE", ROOT / ".lighthouse" / "node_modules" / ".bin" / "lighthouse"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DB_URL = os.environ.get("LIGHTHOUSE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/komet_lighthouse")
PORT = int(os.environ.get("LIGHTHOUSE_PORT", "5194"))
RUNS = int(os.environ.get("LIGHTHOUSE_RUNS", "3"))
CDN = "https://cdn.jsdelivr.net/"
CDN_PORT, CHROME_PORT = PORT + 1, PORT + 2
BLOCK_CDN = os.environ.get("LIGHTHOUSE_CDN") == "blocked"
# Lighthouse's mobile preset sends its own User-Agent; logging in with the same one keeps
# Flask-Login's session protection from re-sending the cookie on every response.
PHONE = ("Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 "
         "(KHTML, like Gecko) Chrome/136.0.0.0 Mobile Safari/537.36")
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-background-networking "
                "--disable-component-update --disable-sync --no-first-run")
HISTORY = "/setup/settings/promotions-and-messages/"
METRICS = [("first-contentful-paint", "FCP"), ("largest-contentful-paint", "LCP"), ("total-blocking-time", "TBT"),
           ("cumulative-layout-shift", "CLS"), ("speed-index", "SI")]


def ensure_database():
    base, name = DB_URL.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()


def start(env):
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    subprocess.run([*flask, "seed-demo"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    server = subprocess.Popen([str(BIN / "gunicorn"), "--no-control-socket", "--bind", f"127.0.0.1:{PORT}",
                               "--workers", "2", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/login", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the app did not start")


class Browser:
    """A logged-in session over plain HTTP, with the phone's User-Agent."""

    def __init__(self, email):
        from komet.demo import DEMO_PASSWORD

        self.base = f"http://127.0.0.1:{PORT}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", PHONE)]
        self.post("/login", {"email": email, "password": DEMO_PASSWORD})

    def get(self, path):
        return self.opener.open(self.base + path).read().decode()

    def post(self, path, data):
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', self.get(path)).group(1)
        return self.opener.open(self.base + path, urllib.parse.urlencode({"csrf_token": token, **data}).encode())

    @property
    def cookie(self):
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


class CdnStandIn(http.server.BaseHTTPRequestHandler):
    """Answers for cdn.jsdelivr.net with the app's vendored copies of its pinned files."""

    files = {url.removeprefix(CDN.rstrip("/")): ROOT / "static" / path
             for url, (path, _name) in Config.CDN_FALLBACKS.items()}

    def do_GET(self):
        path = self.files.get(self.path)
        if path is None:
            self.send_error(404)
            return
        body = brotli.compress(path.read_bytes())
        self.send_response(200)
        for name, value in [("Content-Type", "text/css" if path.suffix == ".css" else "text/javascript"),
                            ("Content-Encoding", "br"), ("Content-Length", str(len(body))),
                            ("Access-Control-Allow-Origin", "*"),
                            ("Cache-Control", "public, max-age=31536000, immutable")]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve_cdn(tmp):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=cdn.jsdelivr.net", "-keyout", f"{tmp}/key.pem", "-out", f"{tmp}/cert.pem"],
                   check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", CDN_PORT), CdnStandIn)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(f"{tmp}/cert.pem", f"{tmp}/key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_chromium(profile):
    """Chromium for Lighthouse to drive, started here: its --chrome-flags cannot pass a flag
    whose value has spaces, as the rule that sends cdn.jsdelivr.net to the stand-in has."""
    cdn = [] if BLOCK_CDN else ["--ignore-certificate-errors",
                                f"--host-resolver-rules=MAP cdn.jsdelivr.net 127.0.0.1:{CDN_PORT}"]
    chromium = subprocess.Popen([CHROMIUM, *CHROME_FLAGS.split(), *cdn, f"--remote-debugging-port={CHROME_PORT}",
                                 f"--user-data-dir={profile}", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{CHROME_PORT}/json/version", timeout=1)
            return chromium
        except OSError:
            time.sleep(0.2)
    chromium.terminate()
    raise RuntimeError("Chromium did not start")


def lighthouse(url, cookie):
    blocked = [f"--blocked-url-patterns={CDN}*"] if BLOCK_CDN else []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        chromium = start_chromium(f"{tmp}/profile")  # a fresh one each run: no cookie or cache is left over
        try:
            subprocess.run([str(LIGHTHOUSE), url, "--quiet", "--only-categories=performance", "--form-factor=mobile",
                            f"--port={CHROME_PORT}", f"--emulatedUserAgent={PHONE}", *blocked,
                            f"--extra-headers={json.dumps({'Cookie': cookie})}",
                            "--output=json", f"--output-path={report}"], check=True, stderr=subprocess.DEVNULL)
        finally:
            chromium.terminate()
            chromium.wait(timeout=20)
        return json.loads(report.read_text())


def summary(report):
    audits = report["audits"]
    items = audits["network-requests"]["details"]["items"]
    failed = [r["url"] for r in items if r.get("statusCode", 200) >= 400 or r.get("statusCode") == -1]
    if failed and not BLOCK_CDN:
        raise RuntimeError(f"requests failed: {failed}")
    requests = [r for r in items if r.get("transferSize")]
    own = [r for r in requests if not r["url"].startswith(CDN) and "/static/vendor/" not in r["url"]
           and r.get("resourceType") != "Image"]
    return {"score": round(report["categories"]["performance"]["score"] * 100),
            **{label: audits[key]["numericValue"] for key, label in METRICS},
            "own bytes": sum(r["transferSize"] for r in own),
            "all bytes": sum(r["transferSize"] for r in requests),
            "requests": len(requests)}


def main():
    if not LIGHTHOUSE.exists():
        sys.exit(f"Lighthouse is missing at {LIGHTHOUSE}: run `make lighthouse`, which installs it with npm")
    env = {**os.environ, "KOMET_CONFIG": "production", "SECRET_KEY": "l" * 40, "DATABASE_URL": DB_URL,
           "BROKER_URL": "stub://", "SESSION_COOKIE_SECURE": "0", "LOGIN_RATE_LIMIT": "1000 per minute"}
    ensure_database()
    tmp = tempfile.TemporaryDirectory()
    cdn = None if BLOCK_CDN else serve_cdn(tmp.name)
    server = start(env)
    try:
        admin = Browser("admin@bloom.example")
        if "Lighthouse week" not in admin.get(HISTORY):
            admin.post(HISTORY + "new", {"title": "Lighthouse week", "content": "<p>Fresh <strong>tulips</strong>.</p>",
                                         "publish_now": "y", "expires_on": "2031-01-01T09:00",
                                         "type": "popup", "audience": "all"})
        buyer = Browser("buyer@rosecafe.example")
        assert "Lighthouse week" in buyer.get("/shop/"), "the shop shows no message"
        pages = [("buyer's shop page", "/shop/", buyer.cookie), ("Message History", HISTORY, admin.cookie)]
        results = {}
        for label, path, cookie in pages:
            runs = [summary(lighthouse(f"http://127.0.0.1:{PORT}{path}", cookie)) for _ in range(RUNS)]
            results[label] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    finally:
        server.terminate()
        server.wait(timeout=20)
        if cdn:
            cdn.shutdown()
        tmp.cleanup()
    print(f"\nLighthouse {RUNS}x, mobile preset (median), CDN {'blocked' if BLOCK_CDN else 'up (a local stand-in)'}; "
          "times in ms; bytes transferred")
    print(f"{'page':<20}{'score':>6}" + "".join(f"{label:>7}" for _, label in METRICS)
          + f"{'own bytes':>11}{'all bytes':>11}{'requests':>9}")
    for label, r in results.items():
        print(f"{label:<20}{r['score']:>6.0f}" + "".join(
            f"{r[m]:>7.3f}" if m == "CLS" else f"{r[m]:>7.0f}" for _, m in METRICS)
            + f"{r['own bytes']:>11.0f}{r['all bytes']:>11.0f}{r['requests']:>9.0f}")


if __name__ == "__main__":
    main()
