"""The email outbox: written with the change, sent once, never lost."""
import re
import smtplib
from datetime import timedelta

import dramatiq
from sqlalchemy import select

from komet.clock import utcnow
from komet.extensions import db
from komet.mail import outbox
from komet.models import Email, EmailStatus
from komet.ops import logs
from tests.faults import closed_port
from tests.mailsink import text_of


def _queue(app, make, **kwargs):
    user = make.staff(make.company())
    with app.app_context():
        email = outbox.queue_email("password_changed", user.email, user_id=user.id, **kwargs)
        db.session.commit()
        return email.id, user


def _row(app, email_id):
    with app.app_context():
        return db.session.get(Email, email_id)


def _queued_messages():
    return dramatiq.get_broker().queues["emails"].qsize()


def test_email_is_enqueued_only_after_commit(app, make):
    user = make.staff(make.company())
    with app.app_context():
        outbox.queue_email("password_changed", user.email, user_id=user.id)
        assert _queued_messages() == 0
        db.session.commit()
    assert _queued_messages() == 1


def test_rolled_back_change_sends_nothing(app, make):
    user = make.staff(make.company())
    with app.app_context():
        outbox.queue_email("password_changed", user.email, user_id=user.id)
        db.session.rollback()
        assert db.session.scalar(select(Email)) is None
    assert _queued_messages() == 0


def test_worker_sends_the_email_through_smtp_and_marks_it_sent(app, make, worker, smtp_sink):
    email_id, user = _queue(app, make)
    worker()
    [message] = smtp_sink.messages()
    assert message["To"] == user.email
    assert message["Subject"] == "Your Komet password was changed"
    assert user.email in text_of(message)
    row = _row(app, email_id)
    assert row.status == EmailStatus.SENT and row.sent_at is not None and row.attempts == 1


def test_running_the_actor_twice_sends_once(app, make, smtp_sink):
    email_id, _ = _queue(app, make)
    with app.app_context():
        assert outbox.deliver(email_id) is True
        assert outbox.deliver(email_id) is False
    assert len(smtp_sink.messages()) == 1


def test_smtp_failure_keeps_the_email_pending_with_the_error(app, make, smtp_sink):
    email_id, _ = _queue(app, make)
    port = app.config["MAIL_PORT"]
    app.extensions["mail"].port = closed_port()
    try:
        with app.app_context():
            assert outbox.deliver(email_id) is False
    finally:
        app.extensions["mail"].port = port
    row = _row(app, email_id)
    assert row.status == EmailStatus.PENDING and row.attempts == 1
    assert "Connection refused" in row.last_error or "Errno" in row.last_error
    with app.app_context():
        assert outbox.deliver(email_id) is True  # the next try goes through
    assert len(smtp_sink.messages()) == 1


def test_email_to_a_deleted_user_fails_without_retrying(app, make, smtp_sink):
    with app.app_context():
        email = outbox.queue_email("password_changed", "gone@example.com", user_id=999999)
        db.session.commit()
        assert outbox.deliver(email.id) is False
        email_id = email.id
    row = _row(app, email_id)
    assert row.status == EmailStatus.FAILED and "no longer exists" in row.last_error
    assert smtp_sink.messages() == []


def test_broker_down_at_request_time_loses_nothing(app, make, monkeypatch, smtp_sink):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(dramatiq.get_broker(), "enqueue", broker_down)
    email_id, _ = _queue(app, make)  # the commit succeeds; only the enqueue failed
    assert _row(app, email_id).status == EmailStatus.PENDING
    monkeypatch.undo()
    later = utcnow() + timedelta(seconds=app.config["OUTBOX_REDRIVE_AFTER_SECONDS"] + 1)
    with app.app_context():
        assert outbox.redrive(now=later) == 1
    assert _queued_messages() == 1


def test_redrive_leaves_fresh_and_sent_emails_alone(app, make):
    email_id, _ = _queue(app, make)
    dramatiq.get_broker().flush_all()
    with app.app_context():
        assert outbox.redrive() == 0  # not overdue yet
        outbox.deliver(email_id)
        later = utcnow() + timedelta(hours=1)
        assert outbox.redrive(now=later) == 0  # sent


def test_two_schedulers_redrive_an_email_once(app, make):
    email_id, _ = _queue(app, make)
    dramatiq.get_broker().flush_all()
    later = utcnow() + timedelta(seconds=app.config["OUTBOX_REDRIVE_AFTER_SECONDS"] + 1)
    with app.app_context():
        first = outbox.redrive(now=later)
    with app.app_context():
        second = outbox.redrive(now=later)
    assert (first, second) == (1, 0)
    assert _queued_messages() == 1


def test_email_claimed_by_a_dead_worker_is_sent_after_the_lease(app, make, smtp_sink):
    email_id, _ = _queue(app, make)
    claimed = utcnow() - timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
    with app.app_context():
        row = db.session.get(Email, email_id)
        row.status, row.claimed_at, row.enqueued_at = EmailStatus.SENDING, claimed, claimed
        db.session.commit()
        assert outbox.deliver(email_id) is True
    assert len(smtp_sink.messages()) == 1


def test_email_claimed_by_a_live_worker_is_not_sent_again(app, make, smtp_sink):
    email_id, _ = _queue(app, make)
    with app.app_context():
        row = db.session.get(Email, email_id)
        row.status, row.claimed_at = EmailStatus.SENDING, utcnow()
        db.session.commit()
        assert outbox.deliver(email_id) is False
    assert smtp_sink.messages() == []


def test_message_id_is_stable_per_outbox_row(app, make, smtp_sink):
    email_id, _ = _queue(app, make)
    with app.app_context():
        outbox.deliver(email_id)
    assert smtp_sink.messages()[0]["Message-ID"] == f"<komet-email-{email_id}@komet.test>"


def test_admin_retries_a_failed_email_from_the_emails_page(app, client, make, worker, smtp_sink):
    company = make.company()
    admin = make.staff(company)
    failed = make.email(company, status=EmailStatus.FAILED, to=admin.email, user_id=admin.id)
    client.login_as(admin)
    page = client.get("/setup/emails").data.decode()
    assert "Failed" in page and "Retry" in page
    row = client.hx_post(f"/setup/emails/{failed.id}/retry")
    assert row.status_code == 200 and row.data.decode().startswith(f'<tr id="email-{failed.id}">')
    # Back in the queue: the worker may already hold it by the time the row is drawn.
    assert re.search(r">(Pending|Sending|Sent)</span>", row.data.decode()) and "Retry" not in row.data.decode()
    worker()
    assert _row(app, failed.id).status == EmailStatus.SENT
    assert len(smtp_sink.to(admin.email)) == 1


def test_emails_page_runs_a_constant_number_of_queries(app, client, make, queries):
    company = make.company()
    admin = make.staff(company)
    client.login_as(admin)
    make.email(company)
    with queries:
        client.get("/setup/emails")
    few = queries.count
    for _ in range(10):
        make.email(company)
    with queries:
        client.get("/setup/emails")
    assert queries.count == few


def test_emails_page_pages_newest_first(client, make):
    company = make.company()
    admin = make.staff(company)
    for n in range(30):  # 25 a page
        make.email(company, to=f"buyer{n:02d}@example.com")
    client.login_as(admin)
    first = client.get("/setup/emails").data.decode()
    assert "Page 1 of 2" in first and "buyer29@example.com" in first and "buyer04@example.com" not in first
    second = client.get("/setup/emails?page=2").data.decode()
    assert "Page 2 of 2" in second and "buyer04@example.com" in second and "buyer05@example.com" not in second


def test_the_row_is_marked_sent_before_anything_else_is_said_to_the_server(app, make, smtp_sink, monkeypatch):
    first, _ = _queue(app, make)
    second, _ = _queue(app, make)
    seen = []  # (what was written to the server, the first email's status in the database then)
    send = smtplib.SMTP.send  # every write: one command, or a pipelined envelope, or the data

    def spy(self, data):
        with db.engine.connect() as other:  # what another process would read
            seen.append((data if isinstance(data, bytes) else data.encode(),
                         other.execute(select(Email.status).where(Email.id == first)).scalar()))
        return send(self, data)

    monkeypatch.setattr(smtplib.SMTP, "send", spy)
    with app.app_context():
        assert outbox.deliver(first) is True
        outbox.deliver(second)  # on the same connection, or after the first one's goodbye
    end_of_data = next(n for n, (data, _) in enumerate(seen) if data.endswith(b"\r\n.\r\n"))
    after_data = seen[end_of_data + 1:]
    assert after_data and all(status == EmailStatus.SENT for _, status in after_data), seen


def test_emails_queued_together_travel_in_batches_and_share_one_smtp_connection(app, make, worker, smtp_sink,
                                                                                   monkeypatch):
    from komet.mail import smtp

    opened = []
    configure_host = smtp.TimedConnection.configure_host
    monkeypatch.setattr(smtp.TimedConnection, "configure_host", lambda self: opened.append(1) or configure_host(self))
    user = make.staff(make.company())
    one_request = logs.request_id.set("one-request")  # as in a request, or an import's actor run
    try:
        with app.app_context():
            for n in range(12):
                outbox.queue_email("password_changed", f"batch{n}@example.com", user_id=user.id)
            db.session.commit()
    finally:
        logs.request_id.reset(one_request)
    worker()
    assert len(smtp_sink.messages()) == 12 and len(opened) == 1
    with app.app_context():
        assert set(db.session.scalars(select(Email.status))) == {EmailStatus.SENT}


def test_a_connection_closed_while_idle_is_reopened_for_the_next_email(app, make, smtp_sink):
    from komet.mail import pool

    with app.app_context():
        assert outbox.deliver(_queue(app, make)[0]) is True
        pool._local.held.host.sock.close()  # the server (or the network) dropped it while idle
        assert outbox.deliver(_queue(app, make)[0]) is True
        pool.close_idle(idle_seconds=0)  # the worker's idle closer
        assert pool._local.held.host is None
        assert outbox.deliver(_queue(app, make)[0]) is True
    assert len(smtp_sink.messages()) == 3
