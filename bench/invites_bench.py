"""`make bench`, invites: the public invite page beside the floor, and Register Here under its
real rate limit (counters in Redis, as in production).

(g) anonymous GET /i/<token> and (c) the bare one-query floor, each measured with wrk in this
run, and their ratio, with CPU per request and the load average before each run. (h) a burst of 1,000 Register Here POSTs from one address, each with a
valid CSRF token and its own email, sent 16 at a time to two gunicorn workers: how many were
accepted (must be the per-address limit), refused with 429, rows stored (must equal accepted,
no email twice), and 5xx (must be none). (i) 50 POSTs of one email at once from 50 addresses:
one request stored, every answer a polite 200.

Runs on its own PostgreSQL database (BENCH_INVITES_DATABASE_URL) and a local Redis
(BENCH_REDIS_URL, default redis://127.0.0.1:6379/12) under a key prefix of its own.
"""
import http.cookiejar
import os
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import redis
from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

from bench.messages_bench import (BIN, BROWSER, HEADER, PASSWORD, ROOT, Server, ensure_database, free_port, paired,
                                  result_line, sh)

DB_URL = os.environ.get("BENCH_INVITES_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/komet_bench_invites")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
ADDRESS_LIMIT = 5  # per hour: the production default of INVITE_REQUEST_RATE_LIMIT
BURST, SAME_EMAIL, AT_ONCE = 1_000, 50, 16
PAGE_TARGET = 0.6  # issue 19: (g) against the floor measured in the same run
FORM = {"business_name": "Burst Shop", "contact_name": "Bea Burst", "phone": "555-0100", "city": "Austin",
        "country": "USA", "message": "", "website": ""}


def seed(env):
    """Two sellers with an invite link each (one for the burst, one for the same-email test),
    three staff each to be told; a fresh link per run, so each run counts only its own rows."""
    sh(str(BIN / "flask"), "--app", "wsgi", "db", "upgrade", env=env, cwd=ROOT)
    engine = create_engine(DB_URL)
    tokens, run = [], secrets.token_hex(4)
    with engine.begin() as conn:
        for n in (1, 2):
            cid = conn.execute(text("INSERT INTO companies (name, slug, timezone, created_at) VALUES "
                                    "(:name, :slug, 'America/New_York', now()) RETURNING id"),
                               {"name": f"Bench Invites {n}", "slug": f"bench-invites-{run}-{n}"}).scalar()
            for role in ("admin", "sales_manager", "sales_manager"):
                uid = conn.execute(text(
                    "INSERT INTO users (email, name, password_hash, is_active, created_at) "
                    "VALUES (:email, 'Staff', :hash, true, now()) RETURNING id"),
                    {"email": f"{role}{n}-{secrets.token_hex(4)}@bench-invites.example",
                     "hash": generate_password_hash(PASSWORD)}).scalar()
                conn.execute(text("INSERT INTO memberships (user_id, company_id, role) VALUES (:u, :c, :r)"),
                             {"u": uid, "c": cid, "r": role})
            lookup, secret = secrets.token_urlsafe(9), secrets.token_urlsafe(24)
            conn.execute(text("INSERT INTO invite_links (company_id, lookup, secret, paused, created_at) "
                              "VALUES (:c, :l, :s, false, now())"), {"c": cid, "l": lookup, "s": secret})
            tokens.append((cid, f"{lookup}.{secret}"))
    engine.dispose()
    return tokens


def form_session(url):
    """(cookie, csrf token) of one visitor who opened the Register Here form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", BROWSER)]
    page = opener.open(url).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return "; ".join(f"{c.name}={c.value}" for c in jar), token


def post(url, cookie, fields, address=None):
    """(status, what the page said) of one Register Here POST."""
    headers = {"Cookie": cookie, "User-Agent": BROWSER, "Content-Type": "application/x-www-form-urlencoded"}
    if address:
        headers["X-Forwarded-For"] = address
    request = urllib.request.Request(url, urllib.parse.urlencode(fields).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    said = "already" if b"We already have your request" in body else "thanks" if b"<h1>Thank you" in body else ""
    return status, said


def burst(app, token):
    url = f"{app.url}/i/{token}/register"
    cookie, csrf = form_session(url)
    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(lambda n: post(url, cookie, {**FORM, "csrf_token": csrf,
                                                             "email": f"burst{n}@shop.example"}), range(BURST)))
    return Counter(status for status, _ in answers)


def same_email(app, token):
    url = f"{app.url}/i/{token}/register"
    cookie, csrf = form_session(url)
    fields = {**FORM, "csrf_token": csrf, "email": "twice@shop.example"}
    with ThreadPoolExecutor(AT_ONCE) as pool:
        return Counter(pool.map(lambda n: post(url, cookie, fields, f"10.1.{n // 250}.{n % 250 + 1}"),
                                range(SAME_EMAIL)))


def stored(company_id):
    engine = create_engine(DB_URL)
    with engine.connect() as conn:
        rows, emails = conn.execute(text("SELECT count(*), count(DISTINCT email) FROM access_requests "
                                         "WHERE company_id = :c"), {"c": company_id}).one()
    engine.dispose()
    return rows, emails


def main():
    prefix = f"komet-bench-invites-{os.getpid()}"
    env = {**os.environ, "KOMET_CONFIG": "production", "SECRET_KEY": "b" * 40, "DATABASE_URL": DB_URL,
           "BROKER_URL": "stub://", "SESSION_COOKIE_SECURE": "0", "BASE_URL": "http://bench.example",
           "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix,
           "INVITE_REQUEST_RATE_LIMIT": f"{ADDRESS_LIMIT} per hour", "INVITE_LINK_RATE_LIMIT": "100 per hour",
           # One proxy in front, as in production: the address is the X-Forwarded-For one.
           "TRUSTED_PROXIES": "1"}
    ensure_database(DB_URL)
    (burst_company, burst_token), (twice_company, twice_token) = seed(env)
    floor, app = Server("bench.floor:app", free_port(), env), None
    try:
        app = Server("wsgi:app", free_port(), env)
        page = urllib.request.urlopen(f"{app.url}/i/{burst_token}").read().decode()
        assert "Bench Invites 1" in page and "Register Here" in page, "the invite page does not show the seller"
        page_run, floor_run = paired(floor, floor.url + "/", app, f"{app.url}/i/{burst_token}")
        floor.stop()
        statuses = burst(app, burst_token)
        twice = same_email(app, twice_token)
    finally:
        floor.stop()
        if app:
            app.stop()
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)
    rows, distinct = stored(burst_company)
    twice_rows, _ = stored(twice_company)

    print(f"\nInvites\n{HEADER}")
    print(result_line("(g) public invite page, anonymous", page_run, floor_run, PAGE_TARGET))
    print(result_line("    (c) floor, same round", floor_run, floor_run))
    accepted, refused = statuses[200], statuses[429]
    errors = sum(n for status, n in statuses.items() if status >= 500)
    other = {s: n for s, n in statuses.items() if s not in (200, 429) and s < 500}
    checks = [
        (f"accepted {accepted} = the per-address limit {ADDRESS_LIMIT}", accepted == ADDRESS_LIMIT),
        (f"refused with 429: {refused} = {BURST} - {ADDRESS_LIMIT}", refused == BURST - ADDRESS_LIMIT),
        (f"rows stored {rows} = accepted {accepted}, {distinct} distinct emails", rows == accepted == distinct),
        (f"5xx: {errors}" + (f", other statuses: {other}" if other else ""), errors == 0 and not other),
    ]
    print(f"\n(h) {BURST:,} Register Here POSTs from one address, {AT_ONCE} at a time, limits in Redis:")
    for label, ok in checks:
        print(f"    {label}: {'met' if ok else 'MISSED'}")
    fresh, already = twice.pop((200, "thanks"), 0), twice.pop((200, "already"), 0)
    ok = twice_rows == 1 and fresh == 1 and already == SAME_EMAIL - 1 and not twice
    print(f"(i) {SAME_EMAIL} POSTs of one email at once from {SAME_EMAIL} addresses: {twice_rows} row stored, "
          f"{fresh} thank-you, {already} 'already received'" + (f", other answers {dict(twice)}" if twice else "")
          + f": {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
