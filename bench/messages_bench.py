"""`make bench`: Promotions and Messages at scale, against a floor, in one run.

Seeds PostgreSQL with 10,000 customers (each with a buyer), 2,000 messages and 1,000,000
reads, then measures requests/second with wrk on loopback of (a) a buyer's shop page with
its messages, (b) Message History, and (c) a bare one-query Flask page, each served by
gunicorn with the same settings, and prints (a)/(c) and (b)/(c), each line with its CPU per
request (the server's processes and its database backends, from /proc), the load average
before its run, and met/MISSED against its target.

Then the scaling checks (bench/scaling.py).
"""
import http.client
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/komet_bench")
PASSWORD = "bench-password-1"
CUSTOMERS, MESSAGES, READERS_PER_MESSAGE = 10_000, 2_000, 500  # 2,000 x 500 = 1,000,000 reads
# Issue 19's targets, as ratios to the floor measured in the same run.
TARGETS = {"shop": 0.5, "history": 0.45, "poll": 0.6, "session": 0.7}
DURATION = os.environ.get("BENCH_DURATION", "10s")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def sh(*args, **kwargs):
    return subprocess.run(args, check=True, **kwargs)


def ensure_database(url=DB_URL):
    """Create the bench's PostgreSQL database if it is missing."""
    base, name = url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()


def app_env(url):
    """The environment of every Komet process the bench starts, on the database at `url`."""
    return {**os.environ, "KOMET_CONFIG": "production", "SECRET_KEY": "b" * 40, "DATABASE_URL": url,
            "BROKER_URL": "stub://", "SESSION_COOKIE_SECURE": "0", "LOGIN_RATE_LIMIT": "1000 per minute"}


def migrate(url):
    sh(str(BIN / "flask"), "--app", "wsgi", "db", "upgrade", env=app_env(url), cwd=ROOT,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def seed():
    migrate(DB_URL)
    engine = create_engine(DB_URL)
    with engine.begin() as conn:
        if conn.execute(text("SELECT 1 FROM companies WHERE slug = 'bench'")).scalar():
            print("bench data already seeded")
            return
        print(f"seeding {CUSTOMERS} customers, {MESSAGES} messages, {MESSAGES * READERS_PER_MESSAGE} reads ...")
        started = time.monotonic()
        seed_company(conn, CUSTOMERS, MESSAGES, MESSAGES * READERS_PER_MESSAGE)
        print(f"seeded in {time.monotonic() - started:.0f}s")
    vacuum(engine)
    engine.dispose()


def vacuum(engine):
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def seed_company(conn, customers, messages, reads):
    """The seller 'bench': `customers` customers each with a buyer, an admin, `messages` messages
    (the five newest current, the rest expired, 3 hours apart) and `reads` reads.

    Read i is message i mod `messages` read by the buyer of customer i div `messages`, so the
    first customers have read everything and the last customer's buyer (the one the bench logs
    in as) has read nothing, whatever the counts.
    """
    p = {"hash": generate_password_hash(PASSWORD), "n": customers, "m": messages, "r": reads}
    p["cid"] = conn.execute(text("INSERT INTO companies (name, slug, timezone, created_at) "
                                 "VALUES ('Bench Wholesale', 'bench', 'America/New_York', now()) RETURNING id")).scalar()
    conn.execute(text("INSERT INTO customers (company_id, name, created_at) "
                      "SELECT :cid, 'Customer ' || g, now() FROM generate_series(1, :n) g"), p)
    conn.execute(text("INSERT INTO users (email, name, password_hash, is_active, created_at) "
                      "SELECT 'buyer' || g || '@bench.example', 'Buyer ' || g, :hash, true, now() "
                      "FROM generate_series(1, :n) g"), p)
    conn.execute(text("""
        INSERT INTO customer_users (user_id, customer_id, company_id, created_at)
        SELECT u.id, c.id, :cid, now()
        FROM (SELECT id, row_number() OVER (ORDER BY id) rn FROM users WHERE email LIKE '%@bench.example') u
        JOIN (SELECT id, row_number() OVER (ORDER BY id) rn FROM customers WHERE company_id = :cid) c USING (rn)
    """), p)
    conn.execute(text("""
        INSERT INTO ecommerce_users (company_id, user_id, name, username, status, created_at)
        SELECT :cid, u.id, u.name, u.email, 'active', now() FROM users u WHERE u.email LIKE '%@bench.example'
    """), p)
    admin = conn.execute(text("INSERT INTO users (email, name, password_hash, is_active, created_at)"
                              " VALUES ('admin@bench.example', 'Bench Admin', :hash, true, now())"
                              " RETURNING id"), p).scalar()
    conn.execute(text("INSERT INTO memberships (user_id, company_id, role) VALUES (:u, :cid, 'admin')"),
                 {"u": admin, "cid": p["cid"]})
    # Five current messages (two of them Windows), the rest in the past.
    conn.execute(text("""
        INSERT INTO messages (company_id, title, content_html, publish_on, expires_on, type,
                              for_all_customers, status, created_at, updated_at)
        SELECT :cid, 'Message ' || g, '<p>Offer number ' || g || '</p>',
               now() - make_interval(hours => g * 3),
               CASE WHEN g <= 5 THEN now() + interval '1 year' ELSE now() - make_interval(hours => g * 3 - 2) END,
               CASE WHEN g % 4 = 0 THEN 'window' ELSE 'popup' END, true,
               CASE WHEN g <= 5 THEN 'published' ELSE 'expired' END, now(), now()
        FROM generate_series(1, :m) g
    """), p)
    conn.execute(text("""
        INSERT INTO message_reads (message_id, user_id, customer_id, company_id, read_at)
        SELECT m.id, cu.user_id, cu.customer_id, :cid, now()
        FROM generate_series(0, :r - 1) i
        JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 k FROM messages WHERE company_id = :cid) m
          ON m.k = i % :m
        JOIN (SELECT user_id, customer_id, row_number() OVER (ORDER BY id) - 1 k FROM customer_users
              WHERE company_id = :cid) cu ON cu.k = i / :m
    """), p)
    conn.execute(text("""
        INSERT INTO message_customer_reads (message_id, customer_id, first_read_at)
        SELECT message_id, customer_id, min(read_at) FROM message_reads WHERE company_id = :cid
        GROUP BY message_id, customer_id
    """), p)
    conn.execute(text("UPDATE messages SET customers_read = (SELECT count(*) FROM message_customer_reads r "
                      "WHERE r.message_id = messages.id) WHERE company_id = :cid"), p)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, app, port, env):
        self.url = f"http://127.0.0.1:{port}"
        self.database = env["DATABASE_URL"].rsplit("/", 1)[1]  # names its backends in their process titles
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


# Log in and load with the same headers, as a browser does: Flask-Login's session protection
# re-signs and re-sends the cookie on every request whose User-Agent differs from the login's,
# which no browser triggers and which inflated every logged-in figure.
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"


def session_cookie(base_url, email):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", BROWSER)]
    page = opener.open(base_url + "/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    opener.open(base_url + "/login", urllib.parse.urlencode(
        {"csrf_token": token, "email": email, "password": PASSWORD}).encode())
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _wrk_output(url, cookie, headers, duration, redirect):
    args = ["wrk", "-t2", "-c8", f"-d{duration}", "--latency", url]
    for header in ([f"Cookie: {cookie}"] if cookie else []) + [f"User-Agent: {BROWSER}", *headers]:
        args[1:1] = ["-H", header]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    # The poll's 204 counts as 2xx; `redirect`: every answer is the 3xx that pages() checked.
    if "Non-2xx" in out and not redirect:
        raise RuntimeError(f"errors while measuring {url}:\n{out}")
    return out


def wrk(url, cookie=None, *headers, duration=DURATION, redirect=False):
    out = _wrk_output(url, cookie, headers, duration, redirect)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1)
    return rps, p50


class Run(NamedTuple):
    rps: float
    p50: str
    cpu_ms: float  # CPU per request: the server's gunicorn processes and its database's backends
    load: float  # the 1-minute load average just before the run


def _cpu_ticks(server):
    """{pid: utime + stime} of `server`'s gunicorn processes and of the PostgreSQL backends
    connected to its database (their process title names it)."""
    ticks = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                comm, _, rest = f.read().partition(" (")[2].rpartition(") ")
            fields = rest.split()
            mine = server.process.pid in (int(entry.name), int(fields[1]))
            if not mine and comm == "postgres":
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    mine = server.database in f.read().decode(errors="replace").split()
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if mine:
            ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return ticks


def measure(server, url, cookie=None, *headers, duration=DURATION, redirect=False):
    """One wrk run against `server`, with its CPU per request (from /proc) and the load before it."""
    load = os.getloadavg()[0]
    before = _cpu_ticks(server)
    out = _wrk_output(url, cookie, headers, duration, redirect)
    after = _cpu_ticks(server)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    ticks = sum(t - before.get(pid, 0) for pid, t in after.items())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1)
    return Run(rps, p50, ticks * 1000 / CLOCK_TICKS / max(requests, 1), load)


HEADER = f"{'page':<42}{'req/s':>9}{'p50':>9}{'CPU ms/req':>11}{'load':>6}{'ratio':>7}{'CPU ratio':>10}  target"


def result_line(label, run, floor, target=None):
    """One printed line: req/s, p50, CPU per request and the load before the run, the req/s ratio
    and the CPU ratio (floor's CPU per request / this one's) to `floor`, and the verdict on the
    req/s ratio."""
    ratio, cpu_ratio = run.rps / floor.rps, floor.cpu_ms / run.cpu_ms if run.cpu_ms else 0
    verdict = "" if target is None else f">= {target}: {'met' if ratio >= target else 'MISSED'}"
    return (f"{label:<42}{run.rps:>9.1f}{run.p50:>9}{run.cpu_ms:>11.2f}{run.load:>6.1f}{ratio:>7.2f}"
            f"{cpu_ratio:>10.2f}  {verdict}")


def pages(server):
    """What wrk loads on `server`: page -> (url, cookie, extra headers), logged in as a browser."""
    buyer = session_cookie(server.url, f"buyer{CUSTOMERS}@bench.example")  # has read nothing
    admin = session_cookie(server.url, "admin@bench.example")
    shop = urllib.request.Request(server.url + "/shop/", headers={"Cookie": buyer, "User-Agent": BROWSER})
    page = urllib.request.urlopen(shop).read().decode()
    assert "Message 1" in page, "the shop shows no messages"
    poll = re.search(r'hx-get="(/shop/messages\?known=[^"]+)"', page).group(1).replace("&amp;", "&")
    # (e) A logged-in request answered after the session check alone: the messages region asked
    # for without HX-Request redirects to the shop page, with no query beyond the session's.
    session_only = http.client.HTTPConnection(server.url.split("//", 1)[1])
    session_only.request("GET", "/shop/messages", headers={"Cookie": buyer, "User-Agent": BROWSER})
    answer = session_only.getresponse()
    assert answer.status in (302, 303) and answer.getheader("Location", "").endswith("/shop/"), answer.status
    session_only.close()
    return {"session": (server.url + "/shop/messages", buyer, ()),
            "shop": (server.url + "/shop/", buyer, ()),
            "history": (server.url + "/setup/settings/promotions-and-messages/", admin, ()),
            "poll": (server.url + poll, buyer, ("HX-Request: true",))}


def main():
    env = app_env(DB_URL)
    ensure_database()
    seed()
    results = {}
    floor = Server("bench.floor:app", free_port(), env)
    try:
        results["floor"] = measure(floor, floor.url + "/")
    finally:
        floor.stop()
    app = Server("wsgi:app", free_port(), env)
    try:
        for page, (url, cookie, headers) in pages(app).items():
            results[page] = measure(app, url, cookie, *headers, redirect=page == "session")
    finally:
        app.stop()
    print(f"\n{HEADER}")
    for key, label in [("shop", "(a) buyer shop page with its messages"), ("history", "(b) Message History"),
                       ("floor", "(c) bare one-query Flask page"),
                       ("poll", "(d) buyer's poll, nothing new (204)"),
                       ("session", "(e) logged-in, session check only (302)")]:
        print(result_line(label, results[key], results["floor"], TARGETS.get(key)))
    print("\n(d) is a Komet request that checks the session and runs one indexed query, with no page\n"
          "to render. It bounds what any logged-in page can reach against (c).")
    if os.environ.get("BENCH_SCALING", "1") != "0":
        from bench import scaling  # it builds on this module's servers and pages

        scaling.scaling_checks()


if __name__ == "__main__":
    main()
