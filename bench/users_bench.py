"""`make bench`, e-commerce users: Setup > Users with 50,000 buyers, a 5,000-row CSV import,
and 5,000 activation emails through the outbox and worker beside a plain smtplib loop.

Runs on its own PostgreSQL database (BENCH_USERS_DATABASE_URL) and a local Redis
(BENCH_REDIS_URL, default redis://127.0.0.1:6379/12) for the worker's queue.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from werkzeug.security import generate_password_hash

from bench import emails_bench
from bench.messages_bench import (
    BROWSER,
    HEADER,
    PASSWORD,
    ROOT,
    Server,
    ensure_database,
    paired,
    result_line,
    session_cookie,
    sh,
)

BIN = Path(sys.executable).parent
# A database of its own: 50,000 buyers would change the messages bench's numbers.
DB_URL = os.environ.get("BENCH_USERS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/komet_bench_users")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
BUYERS, CUSTOMERS, IMPORT_ROWS = 50_000, 10_000, 5_000
TARGETS = {"users": 0.45, "search": 0.30, "import": 250}  # import: rows/s, upload to summary; emails: bench/emails_bench.py


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(env):
    sh(str(BIN / "flask"), "--app", "wsgi", "db", "upgrade", env=env, cwd=ROOT)
    engine = create_engine(DB_URL)
    with engine.begin() as conn:
        if conn.execute(text("SELECT 1 FROM companies WHERE slug = 'bench-users'")).scalar():
            print("users bench data already seeded")
            return
        print(f"seeding {BUYERS} e-commerce users over {CUSTOMERS} customers ...")
        p = {"hash": generate_password_hash(PASSWORD), "n": BUYERS, "c": CUSTOMERS}
        p["cid"] = conn.execute(text("INSERT INTO companies (name, slug, timezone, created_at) VALUES "
                                     "('Bench Users Wholesale', 'bench-users', 'America/New_York', now()) "
                                     "RETURNING id")).scalar()
        conn.execute(text("INSERT INTO customers (company_id, name, code, created_at) "
                          "SELECT :cid, 'Account ' || g, 'A-' || g, now() FROM generate_series(1, :c) g"), p)
        conn.execute(text("INSERT INTO users (email, name, password_hash, is_active, created_at) "
                          "SELECT 'ubuyer' || g || '@bench.example', 'Buyer ' || g, :hash, true, now() "
                          "FROM generate_series(1, :n) g"), p)
        conn.execute(text("""
            INSERT INTO ecommerce_users (company_id, user_id, name, username, status, activated_at, created_at)
            SELECT :cid, id, name, split_part(email, '@', 1), CASE WHEN id % 10 = 0 THEN 'pending' ELSE 'active' END,
                   now(), now()
            FROM users WHERE email LIKE 'ubuyer%@bench.example'"""), p)
        # Every buyer buys for one or two customers (ids computed, not joined: 50,000 x 10,000 is slow).
        conn.execute(text("""
            INSERT INTO customer_users (user_id, customer_id, company_id, created_at)
            SELECT DISTINCT e.user_id, base.first + k.offset_, :cid, now()
            FROM ecommerce_users e
            CROSS JOIN (SELECT min(id) AS first FROM customers WHERE company_id = :cid) base
            CROSS JOIN LATERAL (VALUES (e.user_id % :c), ((e.user_id * 7) % :c)) AS k(offset_)
            WHERE e.company_id = :cid"""), p)
        admin = conn.execute(text("INSERT INTO users (email, name, password_hash, is_active, created_at)"
                                  " VALUES ('users-admin@bench.example', 'Users Admin', :hash, true, now())"
                                  " RETURNING id"), p).scalar()
        conn.execute(text("INSERT INTO memberships (user_id, company_id, role) VALUES (:u, :cid, 'admin')"),
                     {"u": admin, "cid": p["cid"]})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def measure_pages(env):
    """Setup > Users' first page and a search, each against the floor in turns (bench.measure.paired)."""
    floor, app = Server("bench.floor:app", free_port(), env), None
    try:
        app = Server("wsgi:app", free_port(), env)
        admin = session_cookie(app.url, "users-admin@bench.example")
        page = urllib.request.urlopen(urllib.request.Request(app.url + "/setup/users",
                                                             headers={"Cookie": admin, "User-Agent": BROWSER}))
        assert "ubuyer" in page.read().decode(), "Setup > Users shows no buyers"
        users = paired(floor, floor.url + "/", app, app.url + "/setup/users", admin)
        search = paired(floor, floor.url + "/", app, app.url + "/setup/users?q=Account%2042", admin)
    finally:
        floor.stop()
        if app:
            app.stop()
    return users, search


def start_worker(env, workdir, *options):
    """A `dramatiq workers.worker` process, once it is ready for action."""
    log = open(workdir / "worker.log", "wb")
    worker = subprocess.Popen([str(BIN / "dramatiq"), "workers.worker", *options], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    while b"ready for action" not in (workdir / "worker.log").read_bytes():
        if worker.poll() is not None:
            raise RuntimeError((workdir / "worker.log").read_text()[-3000:])
        time.sleep(0.05)
    return worker


def stop_worker(worker):
    os.killpg(worker.pid, 15)
    worker.wait(timeout=30)


def bench_app(env):
    os.environ.update({k: v for k, v in env.items() if k not in os.environ or k in (
        "DATABASE_URL", "BROKER_URL", "BROKER_NAMESPACE", "MAIL_PORT", "KOMET_CONFIG", "SECRET_KEY")})
    from komet import create_app

    return create_app()


def measure_import(env, app):
    """Upload to summary: the dry run here (the web's part), then the run in a real worker
    process that takes only the imports queue (the activation emails stay queued)."""
    from komet.accounts import imports
    from komet.extensions import db
    from komet.models import Company, ImportStatus, Membership, UserImport

    stamp = int(time.time())
    csv = "name,email,username,customer\n" + "".join(
        f"New {n},new{stamp}-{n}@import.example,n{stamp}-{n},A-{n % CUSTOMERS + 1}\n" for n in range(IMPORT_ROWS))
    worker = start_worker({**env, "WORKER_METRICS_PORT": "0"}, Path(tempfile.mkdtemp(prefix="komet-bench-")),
                          "--processes", "1", "--threads", "1", "--queues", "imports")
    try:
        with app.app_context():
            company = db.session.scalar(select(Company).where(Company.slug == "bench-users"))
            admin_id = db.session.scalar(select(Membership.user_id).where(Membership.company_id == company.id))
            started = time.monotonic()
            record = imports.check(company.id, admin_id, "bench.csv", csv.encode())
            dry = time.monotonic() - started
            assert imports.counts(record)["created"] == IMPORT_ROWS, imports.counts(record)
            imports.start(record)
            while db.session.scalar(select(UserImport.status).where(UserImport.id == record.id)) != ImportStatus.DONE:
                db.session.rollback()
                if time.monotonic() - started > 1200:
                    raise RuntimeError("the import did not finish in 20 minutes")
                time.sleep(0.05)
            total = time.monotonic() - started
            assert db.session.scalar(select(UserImport.created).where(UserImport.id == record.id)) == IMPORT_ROWS
            db.session.remove()
    finally:
        stop_worker(worker)
    return dry, total


def measure_emails(env, app, sink):
    """The 5,000 activation emails the import queued: a worker process, then a plain smtplib loop."""
    from komet.extensions import db
    from komet.models import Email, UserImport

    with app.app_context():
        since = db.session.scalar(select(func.max(UserImport.created_at)))
        emails = db.session.scalars(select(Email).where(Email.created_at >= since, Email.kind == "activation")).all()
        assert len(emails) == IMPORT_ROWS
        ids = [e.id for e in emails]
        db.session.remove()
    return emails_bench.measure(app, env, ids, sink)


def print_import(dry, total):
    rate = IMPORT_ROWS / total
    print(f"\nCSV import of {IMPORT_ROWS:,} new users, upload to summary with a worker: {total:.1f} s, "
          f"{rate:,.0f} rows/s (dry run {dry:.1f} s) (target >= {TARGETS['import']} rows/s: "
          f"{'met' if rate >= TARGETS['import'] else 'MISSED'})")


def print_pages(users, search):
    print(f"\nSetup > Users, 50,000 buyers\n{HEADER}")
    for label, pair, target in (("(e) first page", users, TARGETS["users"]),
                                ("(f) search 'Account 42'", search, TARGETS["search"])):
        print(result_line(label, pair.page, pair.floor, target))
        print(result_line("    (c) floor, same round", pair.floor, pair.floor))


def main():
    if sys.argv[1:] == ["pages"]:  # `python -m bench.users_bench pages`: Setup > Users alone
        env = {**os.environ, "KOMET_CONFIG": "production", "SECRET_KEY": "b" * 40, "DATABASE_URL": DB_URL,
               "BROKER_URL": "stub://", "SESSION_COOKIE_SECURE": "0", "LOGIN_RATE_LIMIT": "1000 per minute"}
        ensure_database(DB_URL)
        seed(env)
        print_pages(*measure_pages(env))
        return
    sink_port = free_port()
    env = {**os.environ, "KOMET_CONFIG": "production", "SECRET_KEY": "b" * 40, "DATABASE_URL": DB_URL,
           "BROKER_URL": REDIS_URL, "BROKER_NAMESPACE": f"komet-bench-{os.getpid()}", "SESSION_COOKIE_SECURE": "0",
           "LOGIN_RATE_LIMIT": "1000 per minute", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink_port),
           "BASE_URL": "http://bench.example"}
    ensure_database(DB_URL)
    seed(env)
    if sys.argv[1:] == ["import"]:  # the import line alone: python -m bench.users_bench import
        print_import(*measure_import(env, bench_app(env)))
        return
    users, search = measure_pages({**env, "BROKER_URL": "stub://"})
    sink = emails_bench.start_sink(sink_port)
    try:
        app = bench_app(env)
        dry, total = measure_import(env, app)
        outbox_rate, smtp_rate = measure_emails(env, app, sink)
    finally:
        emails_bench.stop_sink(sink)
    print_pages(users, search)
    print_import(dry, total)
    emails_bench.report(IMPORT_ROWS, outbox_rate, smtp_rate)


if __name__ == "__main__":
    main()
