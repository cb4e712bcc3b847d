"""The scaling check of the scheduler's sweep: 1,000 due messages in a table of 10k vs 1M
(bench/scaling.py prints the line). `python -m bench.sweep` is the worker process that times
one sweep per line it reads."""
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

from sqlalchemy import create_engine, text

from bench.messages_bench import ROOT, app_env

SWEEP_RUNS = int(os.environ.get("BENCH_SWEEP_RUNS", "9"))
SWEEP_DUE = 1_000
# The sweep's data is laid out around a fixed instant, and each run sweeps "as of" it, so a
# database seeded last month still holds exactly SWEEP_DUE due messages.
SWEEP_NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def seed_sweep(conn, messages):
    """`messages` messages of one company around SWEEP_NOW: SWEEP_DUE of them due (half drafts
    whose Publish On has passed, half published ones whose Expires On has), 2 % future drafts,
    2 % current, and the rest long expired and recorded so, as a seller's table is after years."""
    cid = conn.execute(text("INSERT INTO companies (name, slug, timezone, created_at) "
                            "VALUES ('Sweep Wholesale', 'sweep', 'UTC', :t) RETURNING id"), {"t": SWEEP_NOW}).scalar()
    conn.execute(text("""
        INSERT INTO messages (company_id, title, content_html, publish_on, expires_on, type, for_all_customers,
                              status, published_at, expired_at, customers_read, created_at, updated_at)
        SELECT :cid, CASE WHEN g <= :due THEN 'Due ' ELSE 'Message ' END || g, '<p>Offer number ' || g || '</p>',
               s.publish_on, s.expires_on, 'popup', true, s.status,
               CASE WHEN s.status <> 'draft' THEN s.publish_on END,
               CASE WHEN s.status = 'expired' THEN s.expires_on END, 0, :t, :t
        FROM generate_series(1, :n) g, LATERAL (SELECT * FROM (VALUES
            (g <= :due / 2, 'draft', :t - make_interval(mins => g), :t + interval '30 days'),
            (g <= :due, 'published', :t - interval '30 days', :t - make_interval(secs => g)),
            (g % 50 = 0, 'draft', :t + make_interval(mins => g), :t + make_interval(mins => g) + interval '7 days'),
            (g % 50 = 1, 'published', :t - interval '1 day', :t + make_interval(mins => g)),
            (true, 'expired', :t - make_interval(mins => g * 10) - interval '7 days', :t - make_interval(mins => g * 10))
        ) AS c(applies, status, publish_on, expires_on) WHERE applies LIMIT 1) s
    """), {"cid": cid, "n": messages, "due": SWEEP_DUE, "t": SWEEP_NOW})


def sweep_database(messages):
    from bench.scaling import scale_url, seeded_database  # scaling imports this module

    url = scale_url(f"sweep{messages // 1000}k" if messages < 1_000_000 else f"sweep{messages // 1_000_000}m")
    seeded_database(url, f"sweep messages={messages} due={SWEEP_DUE}", lambda conn: seed_sweep(conn, messages))
    return url


def sweep_worker():
    """`python -m bench.sweep` on DATABASE_URL: for each line read, put
    the due messages back as they were seeded, then time one `schedule.sweep` and print ms."""
    from komet import create_app
    from komet.messages import schedule

    app = create_app()
    setup = create_engine(os.environ["DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with setup.connect() as conn:
        # As seeded, whatever the last run left: drafts until SWEEP_NOW, the others published.
        due = conn.execute(text("SELECT id, expires_on > :t FROM messages WHERE title LIKE 'Due %'"),
                           {"t": SWEEP_NOW}).all()
    drafts = [i for i, was_draft in due if was_draft]
    published = [i for i, was_draft in due if not was_draft]
    with app.app_context():
        for _ in sys.stdin:
            with setup.connect() as conn:
                conn.execute(text("UPDATE messages SET status = 'draft', published_at = NULL, expired_at = NULL "
                                  "WHERE id = ANY(:ids)"), {"ids": drafts})
                conn.execute(text("UPDATE messages SET status = 'published', published_at = publish_on, "
                                  "expired_at = NULL WHERE id = ANY(:ids)"), {"ids": published})
                # The dead rows of the last run and this reset would otherwise pile up in the
                # status indexes run after run; the small-table bypass would skip them.
                conn.execute(text("VACUUM (INDEX_CLEANUP ON) messages"))
            started = time.perf_counter()
            changed = schedule.sweep(SWEEP_NOW)
            elapsed = time.perf_counter() - started
            assert changed == SWEEP_DUE, f"the sweep changed {changed} messages, not {SWEEP_DUE}"
            print(f"{elapsed * 1000:.3f}", flush=True)


def time_sweeps(a_url, b_url):
    """Median ms of a sweep of SWEEP_DUE due messages on each database, runs in turns."""
    workers = [subprocess.Popen([sys.executable, "-m", "bench.sweep"], cwd=ROOT,
                                env=app_env(url), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for url in (a_url, b_url)]
    times = ([], [])
    try:
        for run in range(SWEEP_RUNS + 1):
            for side in (0, 1) if run % 2 == 0 else (1, 0):
                workers[side].stdin.write("run\n")
                workers[side].stdin.flush()
                answer = workers[side].stdout.readline()
                if not answer:
                    raise RuntimeError("a sweep worker failed (its error is above)")
                ms = float(answer)
                if run:  # the first run warms the caches
                    times[side].append(ms)
    finally:
        for worker in workers:
            worker.stdin.close()
            worker.wait(timeout=30)
    return statistics.median(times[0]), statistics.median(times[1])


if __name__ == "__main__":
    sweep_worker()
