"""The email line of `make bench`: 5,000 activation emails through the outbox and a worker
process (2 processes x 4 threads) beside one plain smtplib loop sending the same 5,000
messages, already rendered, to the same SMTP sink, in the same run. The target is a ratio:
the outbox must deliver at least as fast as the loop.

The sink (workers/mailsink.py) runs in a process of its own, as under `make run` and as a real
mail server would: both senders talk to it over TCP, and neither shares a process (nor its
GIL) with it or with this process's polling. It stores concurrent deliveries concurrently.
Each rate is emails accepted by the sink (250) and, for the outbox, marked sent, per second.

`bench/users_bench.py` measures it on the emails its CSV import queued; run alone
(`python -m bench.emails_bench`) it queues 5,000 activation emails itself on its own database
(BENCH_EMAILS_DATABASE_URL) and Redis (BENCH_REDIS_URL).
"""
import os
import resource
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, text

from bench.messages_bench import ROOT, ensure_database, sh

BIN = Path(sys.executable).parent
EMAILS, TARGET = int(os.environ.get("BENCH_EMAILS_COUNT", 5_000)), 1.0  # fewer for a quick look
DB_URL = os.environ.get("BENCH_EMAILS_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/komet_bench_emails")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def start_sink(port):
    """The SMTP sink in its own process on `port`, storing in a fresh Maildir; once it answers."""
    maildir = Path(tempfile.mkdtemp(prefix="komet-bench-mail-")) / "maildir"
    sink = subprocess.Popen([sys.executable, "-m", "workers.mailsink", "--port", str(port), "--maildir",
                             str(maildir), "--log-level", "WARNING"], cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            sink.maildir = maildir
            return sink
        except OSError:
            if sink.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the SMTP sink did not start") from None
            time.sleep(0.05)


def stop_sink(sink):
    sink.terminate()
    sink.wait(timeout=30)


def _stored(maildir):
    """How many emails the sink has stored (accepted with 250): a directory listing, where a
    count over the emails table ten times a second cost PostgreSQL more CPU than the sends."""
    return sum(len(os.listdir(maildir / box)) for box in ("new", "cur"))


def _last_stored_at(maildir):
    """When the sink stored its latest email (the newest file's mtime, wall-clock seconds)."""
    return max(entry.stat().st_mtime for box in ("new", "cur") for entry in os.scandir(maildir / box))


def _process_cpu(pid):
    """CPU milliseconds a process (the sink) has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _servers_cpu():
    """CPU milliseconds used so far by this machine's PostgreSQL and Redis processes (the live ones)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text.split("(", 1)[1].split(")", 1)[0] in ("postgres", "redis-server"):
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    return total


def _machine_busy():
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def _busy_since(before):
    busy, total = _machine_busy()
    return (busy - before[0]) / max(1, total - before[1])


def measure(app, env, ids, sink):
    """(outbox + worker emails/s, plain smtplib loop emails/s) for the queued emails `ids`
    (their messages already in the broker), to the sink process `sink` on env's MAIL_PORT."""
    from komet.extensions import db
    from komet.mail.kinds import render_message
    from komet.models import Email, EmailStatus

    with app.app_context():
        emails = db.session.scalars(select(Email).where(Email.id.in_(ids)).order_by(Email.id)).all()
        # The same messages, rendered now, for the plain loop (its rendering is not timed).
        plain = [(m.sender, m.send_to, m.as_bytes()) for m in map(render_message, emails)]
        db.session.remove()
    started, cpu, sink_cpu, machine = (time.monotonic(), _cpu(resource.RUSAGE_SELF), _process_cpu(sink.pid),
                                       _machine_busy())
    with smtplib.SMTP("127.0.0.1", int(env["MAIL_PORT"])) as smtp:
        for sender, to, body in plain:
            smtp.sendmail(sender, list(to), body)
    smtp_rate = len(plain) / (time.monotonic() - started)
    loop_cpu = (_cpu(resource.RUSAGE_SELF) - cpu) / len(plain)
    loop_sink_cpu = (_process_cpu(sink.pid) - sink_cpu) / len(plain)
    loop_busy = _busy_since(machine)

    accepted = _stored(sink.maildir) + len(ids)  # counted before the worker starts taking them
    workdir = Path(tempfile.mkdtemp(prefix="komet-bench-"))
    log = open(workdir / "worker.log", "wb")
    worker = subprocess.Popen([str(BIN / "dramatiq"), "workers.worker", "--processes", os.environ.get("BENCH_WORKER_PROCESSES", "2"), "--threads", os.environ.get("BENCH_WORKER_THREADS", "4")],
                              cwd=ROOT, env={"dramatiq_prom_db": str(workdir / "metrics"), **env}, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while b"ready for action" not in (workdir / "worker.log").read_bytes():
            if worker.poll() is not None:
                raise RuntimeError((workdir / "worker.log").read_text()[-3000:])
            time.sleep(0.05)
        # Timed from the moment the worker is ready, over the emails the sink took from then on.
        ready = _stored(sink.maildir)
        started, sink_cpu, workers_cpu, machine = (time.time(), _process_cpu(sink.pid),
                                                   _cpu(resource.RUSAGE_CHILDREN), _machine_busy())
        servers_cpu = _servers_cpu()
        while _stored(sink.maildir) < accepted:  # four looks a second: a listing costs ms at 10,000 files
            if worker.poll() is not None or time.time() - started > 600:
                raise RuntimeError(f"the sink took {_stored(sink.maildir) - accepted + len(ids)} of {len(ids)} emails")
            time.sleep(0.25)
        finished = _last_stored_at(sink.maildir)  # not when this loop looked
        with app.app_context():  # and each is marked sent (straight after its 250: a few ms)
            while db.session.scalar(select(func.count()).select_from(Email)
                                    .where(Email.id.in_(ids), Email.status == EmailStatus.SENT)) < len(ids):
                db.session.rollback()
                if time.time() - started > 600:
                    raise RuntimeError("the emails the sink took were not all marked sent")
                time.sleep(0.01)
            db.session.rollback()
        outbox_rate = (accepted - ready) / (finished - started)
        outbox_busy = _busy_since(machine)
        servers_cpu = (_servers_cpu() - servers_cpu) / (accepted - ready)
        sink_cpu = (_process_cpu(sink.pid) - sink_cpu) / (accepted - ready)
    finally:
        os.killpg(worker.pid, 15)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:  # measured already; a slow goodbye is not the bench's business
            os.killpg(worker.pid, 9)
            worker.wait(timeout=30)
    # CPU per email, steadier than rates on a shared machine (the worker's includes its start).
    print(f"CPU ms per email: plain loop {loop_cpu:.2f} + its sink {loop_sink_cpu:.2f}; worker processes "
          f"{(_cpu(resource.RUSAGE_CHILDREN) - workers_cpu) / len(ids):.2f} + their sink {sink_cpu:.2f} + PostgreSQL and "
          f"Redis {servers_cpu:.2f}; "
          f"the machine's CPUs busy {loop_busy:.0%} during the loop, {outbox_busy:.0%} during the outbox")
    return outbox_rate, smtp_rate


def _cpu(who):
    usage = resource.getrusage(who)
    return (usage.ru_utime + usage.ru_stime) * 1000


def report(count, outbox_rate, smtp_rate):
    ratio = outbox_rate / smtp_rate
    print(f"{count:,} activation emails: outbox + worker {outbox_rate:,.0f}/s, plain smtplib loop "
          f"{smtp_rate:,.0f}/s, ratio {ratio:.2f} (target >= {TARGET}: {'met' if ratio >= TARGET else 'MISSED'})")


def _queue(app):
    """5,000 pending links of new logins, each with its activation email queued and enqueued."""
    from komet.extensions import db
    from komet.mail import outbox
    from komet.models import Email

    stamp = int(time.time())
    with app.app_context():
        p = {"n": EMAILS, "s": stamp}
        cid = db.session.execute(text("INSERT INTO companies (name, slug, timezone, created_at) VALUES "
                                      "('Bench Emails Wholesale', 'bench-emails-' || :s, 'America/New_York', now()) "
                                      "RETURNING id"), p).scalar()
        p["cid"] = cid
        db.session.execute(text("INSERT INTO users (email, name, is_active, created_at) SELECT 'mail' || :s || '-' "
                                "|| g || '@bench.example', 'Buyer ' || g, true, now() FROM generate_series(1, :n) g"), p)
        db.session.execute(text("""
            INSERT INTO ecommerce_users (company_id, user_id, name, username, status, activation_nonce,
                                         activation_sent_at, created_at)
            SELECT :cid, id, name, split_part(email, '@', 1), 'pending', md5(random()::text), now(), now()
            FROM users WHERE email LIKE 'mail' || :s || '-%'"""), p)
        db.session.execute(text("""
            INSERT INTO emails (kind, to_address, company_id, context, status, attempts, created_at, enqueued_at)
            SELECT 'activation', u.email, :cid, json_build_object('account_id', e.id), 'pending', 0, now(), now()
            FROM ecommerce_users e JOIN users u ON u.id = e.user_id WHERE e.company_id = :cid"""), p)
        ids = db.session.scalars(select(Email.id).where(Email.company_id == cid).order_by(Email.id)).all()
        db.session.commit()
        size = app.config["OUTBOX_CLAIM_BATCH"]  # as queue_email's commit hands them over
        for start in range(0, len(ids), size):
            outbox.enqueue(ids[start:start + size])
    return ids


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    sink_port = free_port()
    env = {**os.environ, "KOMET_CONFIG": "production", "SECRET_KEY": "b" * 40, "DATABASE_URL": DB_URL,
           "BROKER_URL": REDIS_URL, "BROKER_NAMESPACE": f"komet-bench-{os.getpid()}", "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(sink_port), "BASE_URL": "http://bench.example", "WORKER_METRICS_PORT": os.environ.get("BENCH_WORKER_METRICS_PORT") or str(free_port())}
    ensure_database(DB_URL)
    sh(str(BIN / "flask"), "--app", "wsgi", "db", "upgrade", env=env, cwd=ROOT)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "BROKER_URL", "BROKER_NAMESPACE", "MAIL_PORT",
                                           "KOMET_CONFIG", "SECRET_KEY", "BASE_URL")})
    from komet import create_app

    app = create_app()
    ids = _queue(app)
    sink = start_sink(sink_port)
    try:
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        report(len(ids), *measure(app, env, ids, sink))
    finally:
        stop_sink(sink)


if __name__ == "__main__":
    main()
