"""Process faults with the real processes: gunicorn, dramatiq, the scheduler, a real SMTP
server that goes silent, a Redis that is not there."""
import time

import pytest

from komet.models import EmailStatus
from tests.factories import PASSWORD
from tests.faults import SMTPGate, closed_port, outbox_rows, wait_until
from tests.integration.test_real_processes import Browser
from tests.stack import Stack




@pytest.fixture
def silent_smtp(smtp_sink):
    with SMTPGate(target_port=smtp_sink.port) as gate:
        yield gate


@pytest.fixture
def fault_stack(app, smtp_sink, silent_smtp, tmp_path):
    """web, one single-threaded worker and a scheduler sending through the SMTP gate, with
    short timeouts so a test sees a retry in seconds."""
    running = Stack(app.config["SQLALCHEMY_DATABASE_URI"], silent_smtp.port, smtp_sink.path, tmp_path,
                    MAIL_TIMEOUT="1", OUTBOX_RETRY_MIN_SECONDS="1", OUTBOX_RETRY_MAX_SECONDS="2",
                    OUTBOX_REDRIVE_AFTER_SECONDS="2", SCHEDULER_INTERVAL_SECONDS="1")
    with running:
        yield running


def test_a_silent_smtp_server_does_not_wedge_the_worker(app, make, fault_stack, silent_smtp, smtp_sink):
    first, second = make.staff(make.company()), make.staff(make.company())
    browser = Browser(fault_stack.url)
    for person in (first, second):
        status, page = browser.submit("/forgot-password", {"email": person.email})
        assert status == 200 and "Check your email" in page
    # The one worker thread is not stuck in a read: the attempts time out and are recorded.
    assert wait_until(lambda: all(r.last_error and "timed out" in r.last_error for r in outbox_rows(app))), \
        fault_stack.log("worker")[-3000:]
    silent_smtp.open()  # the server answers again
    assert wait_until(lambda: all(r.status == EmailStatus.SENT for r in outbox_rows(app))), fault_stack.log("worker")[-3000:]
    time.sleep(2)  # room for a duplicate to show up, if there were one
    for person in (first, second):
        assert [m["Subject"] for m in smtp_sink.to(person.email)] == ["Reset your Komet password"]


def test_with_redis_down_people_log_in_and_reset_emails_are_written(app, make, smtp_sink, tmp_path):
    """Redis holds both the rate-limit counters and the broker queue; nothing answers on it."""
    dead_redis = f"redis://127.0.0.1:{closed_port()}/0"
    staff = make.staff(make.company())
    running = Stack(app.config["SQLALCHEMY_DATABASE_URI"], smtp_sink.port, smtp_sink.path, tmp_path,
                    REDIS_URL=dead_redis, BROKER_URL=dead_redis, RATELIMIT_STORAGE_URI=dead_redis)
    try:
        running.start_web()
        browser = Browser(running.url)
        status, page = browser.submit("/login", {"email": staff.email, "password": PASSWORD})
        assert status == 200 and "Settings" in page  # followed the 303 into Setup
        status, page = Browser(running.url).submit("/forgot-password", {"email": staff.email})
        assert status == 200 and "Check your email" in page
        [row] = [r for r in outbox_rows(app) if r.kind == "password_reset"]
        assert row.to_address == staff.email and row.status == EmailStatus.PENDING  # re-driven later
        log = running.log("web")
        assert "falling back to in-memory storage" in log
        assert "the scheduler will re-drive it" in log
    finally:
        running.stop()
