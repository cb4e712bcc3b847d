"""Scale-out, proven: two web processes, two workers and two schedulers on one PostgreSQL
(the test database) and the local RabbitMQ. Logins, password resets and a message's
publication go through both web processes while one worker is killed in the middle of a
send; every email arrives exactly once and every transition is recorded once.

Needs RabbitMQ on 127.0.0.1:5672 (guest/guest) and `rabbitmqctl` (for a vhost of the test's
own); skipped without them, unless REQUIRE_RABBITMQ=1 (`.ci/run` sets it) makes that a failure.
"""
import os
import re
import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from komet.clock import utcnow
from komet.extensions import db
from komet.models import EmailStatus, Message, MessageStatus
from komet.timezones import to_local
from tests.factories import PASSWORD
from tests.faults import SMTPGate, outbox_rows, wait_until
from tests.integration.test_real_processes import Browser
from tests.stack import Stack

MESSAGES = "/setup/settings/promotions-and-messages/"


def _rabbitmq_or_skip():
    reason = None
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError:
        reason = "no RabbitMQ on 127.0.0.1:5672"
    if reason is None and not shutil.which("rabbitmqctl"):
        reason = "rabbitmqctl not found (needed for the test's own vhost)"
    if reason:
        if os.environ.get("REQUIRE_RABBITMQ"):
            pytest.fail(reason)
        pytest.skip(reason)


def _rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, timeout=120, capture_output=True)


@pytest.fixture
def rabbitmq_vhost():
    """A vhost of this test's own: no other run's workers take its messages."""
    _rabbitmq_or_skip()
    vhost = f"komet-test-{os.getpid()}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def two_of_everything(app, smtp_sink, rabbitmq_vhost, tmp_path):
    """Machines A and B, each with web, worker and scheduler. A's worker sends through an
    SMTP server that never answers, so it is caught mid-send when it is killed."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("scale-out is checked on PostgreSQL (TEST_DATABASE_URL)")
    settings = dict(BROKER_URL=rabbitmq_vhost, SCHEDULER_INTERVAL_SECONDS="1", OUTBOX_LEASE_SECONDS="5",
                    OUTBOX_REDRIVE_AFTER_SECONDS="3", OUTBOX_RETRY_MIN_SECONDS="1", OUTBOX_RETRY_MAX_SECONDS="2")
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    with SMTPGate() as silent:
        a = Stack(database, silent.port, smtp_sink.path, tmp_path / "a", MAIL_TIMEOUT="120", **settings)
        b = Stack(database, smtp_sink.port, smtp_sink.path, tmp_path / "b", MAIL_TIMEOUT="10", **settings)
        for machine in (a, b):
            machine.workdir.mkdir()
        try:
            for machine in (a, b):
                machine.start_web()
                machine.start_worker()
                machine.start_scheduler()
            yield a, b, silent
        finally:
            for machine in (a, b):
                machine.stop()




def _wall(moment, tz_name):
    return to_local(moment, tz_name).strftime("%Y-%m-%dT%H:%M:%S")


def test_two_of_each_process_send_every_email_once_and_record_every_transition_once(
        app, make, smtp_sink, two_of_everything):
    a, b, silent = two_of_everything
    company = make.company()
    admin = make.staff(company)
    people = [make.staff(company) for _ in range(8)]

    for n, person in enumerate(people):  # logins and resets, alternating web processes
        web = (a, b)[n % 2]
        status, page = Browser(web.url).submit("/login", {"email": person.email, "password": PASSWORD})
        assert status == 200 and "Settings" in page
        status, page = Browser((b, a)[n % 2].url).submit("/forgot-password", {"email": person.email})
        assert status == 200 and "Check your email" in page

    # A's worker took an email and is stuck in the SMTP conversation: kill it there.
    assert wait_until(lambda: silent.accepted >= 1), a.log("worker")[-3000:]
    a.kill("worker")

    # A message published and expired by the schedulers, written through the other web process.
    staff = Browser(a.url)
    staff.submit("/login", {"email": admin.email, "password": PASSWORD})
    staff.base_url = b.url  # the same signed session cookie works on B
    now = utcnow()
    status, _ = staff.submit(MESSAGES + "new", {
        "title": "Scale-out sale", "content": "<p>Both machines</p>", "type": "popup", "audience": "all",
        "publish_on": _wall(now + timedelta(seconds=4), "America/New_York"),
        "expires_on": _wall(now + timedelta(seconds=9), "America/New_York")})
    assert status == 200

    assert wait_until(lambda: [e.status for e in outbox_rows(app)] == [EmailStatus.SENT] * len(people)), \
        [(e.id, e.status, e.last_error) for e in outbox_rows(app)]
    with app.app_context():
        assert wait_until(lambda: db.session.scalar(select(Message.status)) == MessageStatus.EXPIRED, timeout=30)
        message = db.session.scalar(select(Message))
        assert message.published_at is not None and message.expired_at is not None
    time.sleep(3)  # room for a duplicate to show up, if there were one

    # The email A was killed sending went out through B after the lease: claimed twice, sent once.
    assert any(e.attempts >= 2 for e in outbox_rows(app))
    for person in people:
        assert [m["Subject"] for m in smtp_sink.to(person.email)] == ["Reset your Komet password"]
    assert len(smtp_sink.messages()) == len(people)
    # Each transition (published, expired) was recorded by exactly one sweep of one scheduler.
    sweeps = [int(n) for machine in (a, b) for n in re.findall(r"sweep: (\d+)", machine.log("scheduler"))]
    assert sum(sweeps) == 2, sweeps
