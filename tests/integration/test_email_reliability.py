"""Email survives SMTP faults: a silent server, an outage of an hour, an email that fails for
good is visible and retryable by an operator."""
import smtplib
import subprocess
import sys
from contextlib import contextmanager
from datetime import timedelta

import dramatiq

from komet.clock import utcnow
from komet.extensions import db
from komet.mail import outbox, smtp
from komet.models import Email, EmailStatus
from komet.ops import heartbeats
from tests.faults import SMTPGate, closed_port


@contextmanager
def smtp_at(app, port, timeout=None):
    """Point the app's SMTP settings at `port` (a real socket) for the block."""
    state = app.extensions["mail"]
    saved = state.port, app.config["MAIL_TIMEOUT"]
    state.port = port
    if timeout is not None:
        app.config["MAIL_TIMEOUT"] = timeout
    try:
        yield
    finally:
        state.port, app.config["MAIL_TIMEOUT"] = saved


def _reset_email(app, make):
    user = make.staff(make.company())
    with app.app_context():
        email_id = outbox.queue_email("password_reset", user.email, user_id=user.id).id
        db.session.commit()
    dramatiq.get_broker().flush_all()
    return email_id, user


def _row(app, email_id):
    with app.app_context():
        row = db.session.get(Email, email_id)
        db.session.expunge_all()
        return row


def test_a_server_that_accepts_and_never_answers_fails_the_attempt_instead_of_hanging(app, make, smtp_sink):
    email_id, user = _reset_email(app, make)
    with SMTPGate() as silent, smtp_at(app, silent.port, timeout=0.5), app.app_context():
        assert outbox.deliver(email_id) is False  # returns: the worker thread is free again
    row = _row(app, email_id)
    assert row.status == EmailStatus.PENDING and "timed out" in row.last_error
    with app.app_context():
        assert outbox.deliver(email_id) is True
    assert len(smtp_sink.to(user.email)) == 1


def test_an_smtp_outage_of_more_than_an_hour_loses_no_email_and_backs_off(app, make, smtp_sink):
    email_id, user = _reset_email(app, make)
    start = utcnow()
    with smtp_at(app, closed_port()), app.app_context():
        # A scheduler sweeping every 30 s for 70 minutes; every email it enqueues is delivered.
        for step in range(0, 70 * 60, 30):
            now = start + timedelta(seconds=step)
            if outbox.redrive(now=now):
                dramatiq.get_broker().flush_all()
                assert outbox.deliver(email_id, now=now) is False
    row = _row(app, email_id)
    assert row.status == EmailStatus.PENDING
    # Backoff: far fewer tries than sweeps (140), yet more than the old budget of 8.
    assert 8 < row.attempts <= 15
    back = start + timedelta(minutes=90)
    with app.app_context():
        assert outbox.redrive(now=back) == 1
        assert outbox.deliver(email_id, now=back) is True
    assert [m["Subject"] for m in smtp_sink.to(user.email)] == ["Reset your Komet password"]


def test_an_email_still_failing_after_the_give_up_age_ends_failed(app, make):
    email_id, _ = _reset_email(app, make)
    later = utcnow() + timedelta(seconds=app.config["OUTBOX_GIVE_UP_AFTER_SECONDS"] + 60)
    with smtp_at(app, closed_port()), app.app_context():
        for attempt in range(outbox.MIN_ATTEMPTS_BEFORE_GIVING_UP):
            outbox.deliver(email_id, now=later + timedelta(hours=attempt))
    row = _row(app, email_id)
    assert row.status == EmailStatus.FAILED and "refused" in row.last_error.lower()


def test_a_lease_that_ran_out_is_redriven_at_the_next_sweep(app, make):
    email_id, _ = _reset_email(app, make)
    lease = app.config["OUTBOX_LEASE_SECONDS"]
    claimed = utcnow()
    with app.app_context():
        row = db.session.get(Email, email_id)
        row.status, row.claimed_at, row.attempts = EmailStatus.SENDING, claimed, 1
        db.session.commit()
        assert outbox.redrive(now=claimed + timedelta(seconds=lease - 1)) == 0
        assert outbox.redrive(now=claimed + timedelta(seconds=lease + 1)) == 1
        # Once per lease: the next sweeps leave the re-driven row to the worker.
        assert outbox.redrive(now=claimed + timedelta(seconds=lease + 31)) == 0


def test_operator_lists_and_retries_a_failed_password_reset_of_no_company(app, make, worker, smtp_sink):
    email_id, user = _reset_email(app, make)
    with app.app_context():
        db.session.get(Email, email_id).status = EmailStatus.FAILED
        db.session.get(Email, email_id).last_error = "SMTPServerDisconnected: gone"
        db.session.commit()
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["emails", "failed"])
    assert listed.exit_code == 0
    assert f"{email_id}\t-\tpassword_reset\t{user.email}" in listed.output and "gone" in listed.output
    retried = runner.invoke(args=["emails", "retry", str(email_id)])
    assert retried.exit_code == 0 and "queued again" in retried.output
    worker()
    assert _row(app, email_id).status == EmailStatus.SENT
    assert len(smtp_sink.to(user.email)) == 1
    assert "No failed emails." in runner.invoke(args=["emails", "failed"]).output


def test_forgot_password_page_tells_the_person_to_try_again_if_nothing_arrives(client, make):
    page = client.form_post("/forgot-password", {"email": "nobody@example.com"}).data.decode()
    assert "try again" in page


def _held_by(app, email_id, host, pid, claimed):
    with app.app_context():
        row = db.session.get(Email, email_id)
        row.status, row.claimed_at, row.attempts, row.claimed_host, row.claimed_pid = (
            EmailStatus.SENDING, claimed, 1, host, pid)
        db.session.commit()


def _dead_pid():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_an_email_held_by_a_dead_worker_of_this_host_is_redriven_at_the_next_sweep(app, make, smtp_sink):
    email_id, user = _reset_email(app, make)
    claimed = utcnow()
    _held_by(app, email_id, heartbeats.this_process()[0], _dead_pid(), claimed)
    with app.app_context():
        assert outbox.redrive(now=claimed + timedelta(seconds=1)) == 1  # not after the 300-s lease
        assert outbox.deliver(email_id) is True
    assert len(smtp_sink.to(user.email)) == 1


def test_an_email_held_by_a_worker_whose_heartbeat_is_gone_is_redriven_after_a_minute(app, make):
    email_id, _ = _reset_email(app, make)
    claimed = utcnow()
    _held_by(app, email_id, "host-b", 4242, claimed)  # another machine: its pid cannot be asked
    with app.app_context():
        assert outbox.redrive(now=claimed + timedelta(seconds=30)) == 0  # it may not have beaten yet
        assert outbox.redrive(now=claimed + timedelta(seconds=61)) == 1
        assert db.session.get(Email, email_id).status == EmailStatus.PENDING


def test_an_email_held_by_a_worker_that_still_beats_keeps_its_lease(app, make):
    email_id, _ = _reset_email(app, make)
    claimed = utcnow()
    lease = app.config["OUTBOX_LEASE_SECONDS"]
    _held_by(app, email_id, "host-b", 4242, claimed)
    with app.app_context():
        heartbeats.beat(heartbeats.WORKER, now=claimed, host="host-b", pid=4242)
        assert outbox.redrive(now=claimed + timedelta(seconds=61)) == 0
        assert outbox.redrive(now=claimed + timedelta(seconds=lease + 1)) == 1  # nothing known: the lease


def test_a_refused_connection_marks_since_when_smtp_fails_and_a_send_clears_it(app, make, smtp_sink):
    email_id, _ = _reset_email(app, make)
    with smtp_at(app, closed_port()), app.app_context():
        first = utcnow()
        outbox.deliver(email_id, now=first)
        outbox.deliver(email_id, now=first + timedelta(minutes=1))
    assert _row(app, email_id).failing_since == first  # since the first attempt that failed
    with app.app_context():
        assert outbox.deliver(email_id) is True
    assert _row(app, email_id).failing_since is None


def test_a_temporary_refusal_is_not_smtp_failing():
    refused = smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"mailbox busy")})
    assert smtp.failure(refused) == smtp.REFUSED
    assert smtp.failure(ConnectionRefusedError()) == smtp.UNREACHABLE
    assert smtp.failure(smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")})) == smtp.PERMANENT


def test_a_batch_begins_no_email_its_lease_could_not_cover_and_gives_the_rest_back(app, make, smtp_sink):
    # Lease 2 s, MAIL_TIMEOUT 1 s: after the first email no room is left for another conversation.
    user = make.staff(make.company())
    with app.app_context():
        ids = [outbox.queue_email("password_changed", f"lease{n}@example.com", user_id=user.id).id for n in range(3)]
        db.session.commit()
    dramatiq.get_broker().flush_all()
    saved = app.config["OUTBOX_LEASE_SECONDS"], app.config["MAIL_TIMEOUT"]
    app.config["OUTBOX_LEASE_SECONDS"], app.config["MAIL_TIMEOUT"] = 2, 1
    try:
        with app.app_context():
            assert outbox.deliver_many(ids) == {ids[0]}
    finally:
        app.config["OUTBOX_LEASE_SECONDS"], app.config["MAIL_TIMEOUT"] = saved
    first, *rest = (_row(app, email_id) for email_id in ids)
    assert first.status == EmailStatus.SENT
    assert all(r.status == EmailStatus.PENDING and r.attempts == 0 and r.claimed_at is None for r in rest)
    assert [m["To"] for m in smtp_sink.wait_for(1)] == ["lease0@example.com"]
    with app.app_context():  # given back untried: the next hand-off sends them
        assert outbox.deliver_many(ids[1:]) == set(ids[1:])
