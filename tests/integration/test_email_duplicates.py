"""At-least-once, with a bound: a worker SIGKILLed in the middle of a batch of emails loses
none, and sends at most one email twice per thread it had (same Message-ID). Real gunicorn-less
stack: a dramatiq worker, a scheduler, PostgreSQL, Redis and the SMTP sink, as processes."""
from collections import Counter

from komet.clock import utcnow
from komet.extensions import db
from komet.models import Email, EmailStatus
from tests.faults import outbox_rows, wait_until
from tests.stack import Stack

EMAILS, THREADS = 200, 4


def _queue_many(app, user_id):
    with app.app_context():
        db.session.add_all([Email(kind="password_changed", to_address=f"many{n}@example.com",
                                  context={"user_id": user_id}, status=EmailStatus.PENDING, created_at=utcnow())
                            for n in range(EMAILS)])  # no message yet: the scheduler's re-drive sends them
        db.session.commit()


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_one_email_per_thread(
        app, make, smtp_sink, tmp_path):
    user = make.staff(make.company())
    running = Stack(app.config["SQLALCHEMY_DATABASE_URI"], smtp_sink.port, smtp_sink.path, tmp_path,
                    SCHEDULER_INTERVAL_SECONDS="1", OUTBOX_REDRIVE_AFTER_SECONDS="1", OUTBOX_LEASE_SECONDS="5")
    try:
        running.start_worker(threads=THREADS)
        _queue_many(app, user.id)
        running.start_scheduler()
        assert wait_until(lambda: len(smtp_sink.messages()) >= EMAILS // 4, timeout=60), running.log("worker")[-3000:]
        running.kill("worker")  # SIGKILL, in the middle of the batch
        arrived_before = len(smtp_sink.messages())
        assert arrived_before < EMAILS, "the worker finished before it was killed: nothing was tested"
        running.start_worker(threads=THREADS)
        assert wait_until(lambda: all(r.status == EmailStatus.SENT for r in outbox_rows(app)), timeout=120), \
            running.log("worker")[-3000:]
    finally:
        running.stop()
    ids = Counter(message["Message-ID"] for message in smtp_sink.messages())
    expected = {f"<komet-email-{row.id}@127.0.0.1>" for row in outbox_rows(app)}
    assert set(ids) == expected  # nothing lost
    duplicates = sum(count - 1 for count in ids.values())
    assert duplicates <= THREADS, ids.most_common(THREADS + 1)
