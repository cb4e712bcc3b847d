"""`make bench`: Promotions and Messages at scale, against a floor, in one run.

Seeds PostgreSQL with 10,000 customers (each with a buyer), 2,000 messages and 1,000,000
reads, then measures requests/second with wrk on loopback of (a) a buyer's shop page with
its messages, (b) Message History, and (c) a bare one-query Flask page, each served by
gunicorn with the same settings, and prints (a)/(c) and (b)/(c).
"""
import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/komet_bench")
PASSWORD = "bench-password-1"
CUSTOMERS, MESSAGES, READERS_PER_MESSAGE = 10_000, 2_000, 500  # 2,000 x 500 = 1,000,000 reads
TARGETS = {"shop": 0.6, "history": 0.5}
DURATION = os.environ.get("BENCH_DURATION", "10s")


def sh(*args, **kwargs):
    return subprocess.run(args, check=True, **kwargs)


def ensure_database():
    base, name = DB_URL.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()


def seed(env):
    sh(str(BIN / "flask"), "--app", "wsgi", "db", "upgrade", env=env, cwd=ROOT)
    engine = create_engine(DB_URL)
    with engine.begin() as conn:
        if conn.execute(text("SELECT 1 FROM companies WHERE slug = 'bench'")).scalar():
            print("bench data already seeded")
            return
        print(f"seeding {CUSTOMERS} customers, {MESSAGES} messages, {MESSAGES * READERS_PER_MESSAGE} reads ...")
        started = time.monotonic()
        p = {"hash": generate_password_hash(PASSWORD), "n": CUSTOMERS, "m": MESSAGES, "r": READERS_PER_MESSAGE}
        cid = conn.execute(text("INSERT INTO companies (name, slug, timezone, created_at) "
                                "VALUES ('Bench Wholesale', 'bench', 'America/New_York', now()) RETURNING id")).scalar()
        p["cid"] = cid
        conn.execute(text("INSERT INTO customers (company_id, name, created_at) "
                          "SELECT :cid, 'Customer ' || g, now() FROM generate_series(1, :n) g"), p)
        conn.execute(text("INSERT INTO users (email, name, password_hash, session_token, is_active, created_at) "
                          "SELECT 'buyer' || g || '@bench.example', 'Buyer ' || g, :hash, md5(g::text), true, now() "
                          "FROM generate_series(1, :n) g"), p)
        conn.execute(text("""
            INSERT INTO customer_users (user_id, customer_id, company_id, is_active, created_at)
            SELECT u.id, c.id, :cid, true, now()
            FROM (SELECT id, row_number() OVER (ORDER BY id) rn FROM users WHERE email LIKE '%@bench.example') u
            JOIN (SELECT id, row_number() OVER (ORDER BY id) rn FROM customers WHERE company_id = :cid) c USING (rn)
        """), p)
        admin = conn.execute(text("INSERT INTO users (email, name, password_hash, session_token, is_active, created_at)"
                                  " VALUES ('admin@bench.example', 'Bench Admin', :hash, 'admin', true, now())"
                                  " RETURNING id"), p).scalar()
        conn.execute(text("INSERT INTO memberships (user_id, company_id, role) VALUES (:u, :cid, 'admin')"),
                     {"u": admin, "cid": cid})
        # Five current messages (two of them Windows), the rest in the past.
        conn.execute(text("""
            INSERT INTO messages (company_id, title, content_html, publish_on, expires_on, type,
                                  for_all_customers, status, created_at, updated_at)
            SELECT :cid, 'Message ' || g, '<p>Offer number ' || g || '</p>',
                   now() - make_interval(hours => g * 3),
                   CASE WHEN g <= 5 THEN now() + interval '30 days' ELSE now() - make_interval(hours => g * 3 - 2) END,
                   CASE WHEN g % 4 = 0 THEN 'window' ELSE 'popup' END, true,
                   CASE WHEN g <= 5 THEN 'published' ELSE 'expired' END, now(), now()
            FROM generate_series(1, :m) g
        """), p)
        conn.execute(text("""
            INSERT INTO message_reads (message_id, user_id, customer_id, company_id, read_at)
            SELECT m.id, cu.user_id, cu.customer_id, :cid, now()
            FROM messages m
            CROSS JOIN (SELECT user_id, customer_id FROM customer_users WHERE company_id = :cid
                        ORDER BY id LIMIT :r) cu
            WHERE m.company_id = :cid
        """), p)
        conn.execute(text("""
            INSERT INTO message_customer_reads (message_id, customer_id, first_read_at)
            SELECT message_id, customer_id, min(read_at) FROM message_reads WHERE company_id = :cid
            GROUP BY message_id, customer_id
        """), p)
        conn.execute(text("UPDATE messages SET customers_read = (SELECT count(*) FROM message_customer_reads r "
                          "WHERE r.message_id = messages.id) WHERE company_id = :cid"), p)
        print(f"seeded in {time.monotonic() - started:.0f}s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


class Server:
    def __init__(self, app, port, env):
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--no-control-socket", "--bind", f"127.0.0.1:{port}", "--workers", os.environ.get("BENCH_WORKERS", "2"), app],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url + ("/login" if app == "wsgi:app" else "/"), timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{app} did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)


def session_cookie(base_url, email):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base_url + "/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    opener.open(base_url + "/login", urllib.parse.urlencode(
        {"csrf_token": token, "email": email, "password": PASSWORD}).encode())
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def wrk(url, cookie=None, *headers):
    args = ["wrk", "-t2", "-c8", f"-d{DURATION}", "--latency", url]
    for header in ([f"Cookie: {cookie}"] if cookie else []) + list(headers):
        args[1:1] = ["-H", header]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out:  # the poll's 204 counts as 2xx
        raise RuntimeError(f"errors while measuring {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1)
    return rps, p50


def main():
    env = {**os.environ, "KOMET_CONFIG": "production", "SECRET_KEY": "b" * 40, "DATABASE_URL": DB_URL,
           "BROKER_URL": "stub://", "SESSION_COOKIE_SECURE": "0", "LOGIN_RATE_LIMIT": "1000 per minute"}
    ensure_database()
    seed(env)
    results = {}
    floor = Server("bench.floor:app", 5191, env)
    try:
        results["floor"] = wrk(floor.url + "/")
    finally:
        floor.stop()
    app = Server("wsgi:app", 5192, env)
    try:
        buyer = session_cookie(app.url, f"buyer{CUSTOMERS}@bench.example")  # has read nothing
        admin = session_cookie(app.url, "admin@bench.example")
        shop = urllib.request.Request(app.url + "/shop/", headers={"Cookie": buyer})
        page = urllib.request.urlopen(shop).read().decode()
        assert "Message 1" in page, "the shop shows no messages"
        poll = re.search(r'hx-get="(/shop/messages\?known=[^"]+)"', page).group(1).replace("&amp;", "&")
        results["shop"] = wrk(app.url + "/shop/", buyer)
        results["history"] = wrk(app.url + "/setup/settings/promotions-and-messages/", admin)
        results["poll"] = wrk(app.url + poll, buyer, "HX-Request: true")
    finally:
        app.stop()
    floor_rps = results["floor"][0]
    print(f"\n{'page':<42}{'req/s':>10}{'p50':>10}{'ratio':>8}  target")
    for key, label in [("shop", "(a) buyer shop page with its messages"), ("history", "(b) Message History"),
                       ("floor", "(c) bare one-query Flask page"),
                       ("poll", "(d) buyer's poll, nothing new (204)")]:
        rps, p50 = results[key]
        ratio = rps / floor_rps
        target = TARGETS.get(key)
        verdict = "" if target is None else f">= {target}: {'met' if ratio >= target else 'MISSED'}"
        print(f"{label:<42}{rps:>10.1f}{p50:>10}{ratio:>8.2f}  {verdict}")
    print("\n(d) is for reference: a Komet request that checks the session and runs one indexed query,\n"
          "with no page to render. It bounds what any logged-in page can reach against (c).")


if __name__ == "__main__":
    main()
