"""`make bench`'s scaling checks: Message History, the shop page and the poll on databases with
1k vs 1M reads and 20 vs 20,000 messages, and the scheduler's sweep of 1,000 due messages in a
table of 10k vs 1M, and the who-read page of a message read by 50 vs 50,000 customers (one
database, `python -m bench.scaling readers` alone), each printed as A, B, B/A and whether B/A
is within its tolerance. A line asks whether cost grows, so it is one-sided and judged by cost:
CPU milliseconds per request (the server's processes and its database backends, from /proc) for
pages, milliseconds per sweep for the sweep; B cheaper than A always passes. Each
database is seeded in SQL once and kept while its marker (table bench_seed) matches. Run by
bench/messages_bench.py after its page lines (BENCH_SCALING=0 skips them).
"""
import os
import statistics
import sys
import time

from sqlalchemy import create_engine, text

from bench.messages_bench import (CUSTOMERS, DB_URL, MESSAGES, Server, app_env, ensure_database, measure, migrate,
                                  pages, seed_company, session_cookie, vacuum)
from bench.sweep import SWEEP_DUE, SWEEP_RUNS, sweep_database, time_sweeps

# Scaling checks: the same page or job on two databases that differ only in one count, A and B
# measured in turns (A B, B A, ...) in one run and compared by their medians, because other
# work on the machine moves every figure from one minute to the next.
SCALE_URL = os.environ.get("BENCH_SCALE_DATABASE_URL", DB_URL.rsplit("/", 1)[0] + "/komet_bench_scale")
SCALE_ROUNDS = int(os.environ.get("BENCH_SCALE_ROUNDS", "5"))
SCALE_DURATION = os.environ.get("BENCH_SCALE_DURATION", "5s")
SEED_VERSION = 1  # bump when a seed's layout changes: databases with another marker are re-seeded


def scale_url(suffix):
    return f"{SCALE_URL}_{suffix}"


def seeded_database(url, spec, fill):
    """Make the database at `url` hold `spec`'s data: kept if its marker says it already does,
    else dropped and filled afresh by `fill(conn)` (1M rows take a minute or two)."""
    ensure_database(url)
    engine = create_engine(url)
    spec = f"v{SEED_VERSION} {spec}"
    with engine.connect() as conn:
        marker = conn.execute(text("SELECT to_regclass('bench_seed') IS NOT NULL")).scalar() and \
            conn.execute(text("SELECT spec FROM bench_seed")).scalar()
    engine.dispose()
    name = url.rsplit("/", 1)[1]
    if marker == spec:
        migrate(url)  # a migration added since the seed (an index, say) applies to the kept data
        print(f"{name}: already seeded ({spec})")
        return
    base = url.rsplit("/", 1)[0]
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    migrate(url)
    print(f"{name}: seeding {spec} ...", flush=True)
    started = time.monotonic()
    engine = create_engine(url)
    with engine.begin() as conn:
        fill(conn)
        conn.execute(text("CREATE TABLE bench_seed (spec text NOT NULL)"))
        conn.execute(text("INSERT INTO bench_seed VALUES (:spec)"), {"spec": spec})
    vacuum(engine)
    engine.dispose()
    print(f"{name}: seeded in {time.monotonic() - started:.0f}s")


def company_database(suffix, messages, reads):
    url = scale_url(suffix)
    seeded_database(url, f"customers={CUSTOMERS} messages={messages} reads={reads}",
                    lambda conn: seed_company(conn, CUSTOMERS, messages, reads))
    return url


def compare_pages(a_url, b_url):
    """Median CPU ms per request of each page on the two databases, wrk runs in turns."""
    servers = [Server("wsgi:app", port, app_env(url)) for port, url in ((5193, a_url), (5194, b_url))]
    try:
        targets = [pages(server) for server in servers]
        samples = {page: ([], []) for page in targets[0] if page in PAGE_LABELS}
        for run in range(SCALE_ROUNDS):
            for page, (a, b) in samples.items():
                for side in (0, 1) if run % 2 == 0 else (1, 0):
                    url, cookie, headers = targets[side][page]
                    run_ = measure(servers[side], url, cookie, *headers, duration=SCALE_DURATION,
                                   redirect=page == "session")
                    (a, b)[side].append(run_.cpu_ms)
    finally:
        for server in servers:
            server.stop()
    return {page: (statistics.median(a), statistics.median(b)) for page, (a, b) in samples.items()}


PAGE_LABELS = {"history": "Message History", "shop": "shop page", "poll": "buyer's poll"}

READERS_FEW, READERS_MANY = 50, 50_000


def seed_readers(conn):
    """The messages bench's company with READERS_MANY customers, each with a buyer, and one current
    message read by every buyer ("Message 1"); then a second one, read by the first READERS_FEW."""
    seed_company(conn, READERS_MANY, 1, READERS_MANY)
    p = {"few": READERS_FEW, "cid": conn.execute(text("SELECT id FROM companies WHERE slug = 'bench'")).scalar()}
    p["m"] = conn.execute(text("""
        INSERT INTO messages (company_id, title, content_html, publish_on, expires_on, type, for_all_customers,
                              status, created_at, updated_at)
        VALUES (:cid, 'Read by few', '<p>Offer</p>', now() - interval '1 day', now() + interval '1 year', 'popup',
                true, 'published', now(), now()) RETURNING id"""), p).scalar()
    conn.execute(text("INSERT INTO message_reads (message_id, user_id, customer_id, company_id, read_at) "
                      "SELECT :m, user_id, customer_id, :cid, now() FROM customer_users WHERE company_id = :cid "
                      "ORDER BY id LIMIT :few"), p)
    conn.execute(text("INSERT INTO message_customer_reads (message_id, customer_id, first_read_at) "
                      "SELECT message_id, customer_id, read_at FROM message_reads WHERE message_id = :m"), p)
    conn.execute(text("UPDATE messages SET customers_read = :few WHERE id = :m"), p)


def compare_readers():
    """Median CPU ms per request of the who-read page of the message read by few and of the one read by many."""
    url = scale_url("readers")
    seeded_database(url, f"readers v2 few={READERS_FEW} many={READERS_MANY}", seed_readers)
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT title, id FROM messages")).all())
    engine.dispose()
    server = Server("wsgi:app", 5195, app_env(url))
    try:
        admin = session_cookie(server.url, "admin@bench.example")
        pages = [f"{server.url}/setup/settings/promotions-and-messages/{ids[title]}/readers"
                 for title in ("Read by few", "Message 1")]
        samples = ([], [])
        for run in range(SCALE_ROUNDS):
            for side in (0, 1) if run % 2 == 0 else (1, 0):
                samples[side].append(measure(server, pages[side], admin, duration=SCALE_DURATION).cpu_ms)
    finally:
        server.stop()
    return statistics.median(samples[0]), statistics.median(samples[1])


def readers_line():
    a, b = compare_readers()
    return scaling_line(f"who-read page, {READERS_FEW} vs {READERS_MANY:,} readers", a, b, "ms/req", 0.10)


def scaling_line(label, a, b, unit, tolerance):
    """One scaling check as printed: both medians (costs), B/A and whether B costs at most
    `tolerance` more than A (one-sided: B cheaper than A passes)."""
    ratio = b / a
    verdict = "met" if ratio <= 1 + tolerance else "MISSED"
    line = (f"{label:<46}{f'{a:.2f} {unit}':>14}{f'{b:.2f} {unit}':>14}{ratio:>7.2f}"
            f"  <= {1 + tolerance:.2f}: {verdict}")
    print(line, flush=True)
    return line


def scaling_checks():
    print(f"\nscaling checks (A then B, medians of {SCALE_ROUNDS} wrk runs of {SCALE_DURATION} each in turns, CPU ms"
          f" per request; the sweep: median ms of {SWEEP_RUNS} runs in turns; B/A is B's cost over A's)", flush=True)
    reads_1k = company_database("reads1k", MESSAGES, 1_000)
    messages_20 = company_database("messages20", 20, 1_000)
    messages_20k = company_database("messages20k", 20_000, 1_000)
    sweep_10k, sweep_1m = sweep_database(10_000), sweep_database(1_000_000)
    header = f"\n{'check (A vs B), cost':<46}{'A':>14}{'B':>14}{'B/A':>7}  target"
    print(header)
    lines = []
    for (a_url, b_url), what in [((reads_1k, DB_URL), "1k vs 1M reads"), ((messages_20, messages_20k),
                                                                            "20 vs 20,000 messages")]:
        for page, (a, b) in compare_pages(a_url, b_url).items():
            lines.append(scaling_line(f"{PAGE_LABELS[page]}, {what}", a, b, "ms/req", 0.10))
    a, b = time_sweeps(sweep_10k, sweep_1m)
    lines.append(scaling_line(f"sweep of {SWEEP_DUE:,} due, 10k vs 1M messages", a, b, "ms", 0.20))
    lines.append(readers_line())
    print("\nscaling checks, all lines:" + header)
    print("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:] == ["readers"]:  # `python -m bench.scaling readers`: the who-read line alone
        print(f"\n{'check (A vs B), cost':<46}{'A':>14}{'B':>14}{'B/A':>7}  target")
        readers_line()
