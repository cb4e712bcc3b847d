"""Sending to a server that offers PIPELINING (RFC 2920): the envelope in one write, the same
email in the mailbox, and refusals sorted as they are without it."""
import smtplib
import threading

import dramatiq
import pytest
from aiosmtpd.controller import Controller
from flask_mail import Message

from komet.extensions import db
from komet.mail import outbox, smtp
from komet.models import Email, EmailStatus
from tests.integration.test_email_reliability import smtp_at
from tests.mailsink import free_port
from workers.mailsink import MaildirHandler, read_maildir


class Recorder(smtplib.SMTP):
    """smtplib's client, counting its writes to the socket."""

    writes = 0

    def send(self, s):
        self.writes += 1
        return super().send(s)


class Refusing(MaildirHandler):
    """The sink, refusing the recipient nobody@ (550) and the sender blocked@ (451)."""

    async def handle_MAIL(self, server, session, envelope, address, options):
        if address.startswith("blocked@"):
            return "451 4.7.1 sender held"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class Plain(MaildirHandler):
    """The sink as a server without PIPELINING."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses


@pytest.fixture
def server(tmp_path):
    def start(handler_class):
        controller = Controller(handler_class(tmp_path / "maildir"), hostname="127.0.0.1", port=free_port())
        controller.start()
        started.append(controller)
        return controller

    started = []
    yield start
    for controller in started:
        controller.stop()


def _message(to, body="Hello.\n.a line that starts with a dot\n", sender="Komet <no-reply@komet.example>"):
    message = Message(subject="Pipelined", recipients=[to], body=body, html=None, sender=sender)
    message.msgId = "<pipelined@komet.test>"
    return message


def _stored(tmp_path):
    return [message for _, message in read_maildir(tmp_path / "maildir")]


def test_the_envelope_goes_in_one_write_and_the_email_arrives_whole(app, server, tmp_path):
    controller = server(MaildirHandler)
    with app.app_context(), Recorder("127.0.0.1", controller.port) as host:
        smtp.send_on(host, _message("ada@example.com"))
        smtp.send_on(host, _message("bea@example.com"))
        assert host.has_extn("pipelining") and host.writes == 1 + 2 * 2  # EHLO, then two writes an email
    [second, first] = _stored(tmp_path)
    assert first["X-Envelope-To"] == "ada@example.com" and second["X-Envelope-To"] == "bea@example.com"
    assert first.get_body(("plain",)).get_content() == "Hello.\n.a line that starts with a dot\n"  # dot kept


def test_a_server_without_pipelining_gets_one_command_at_a_time(app, server, tmp_path):
    controller = server(Plain)
    with app.app_context(), Recorder("127.0.0.1", controller.port) as host:
        smtp.send_on(host, _message("ada@example.com"))
        assert not host.has_extn("pipelining") and host.writes == 1 + 4  # EHLO, MAIL, RCPT, DATA, data
    [stored] = _stored(tmp_path)
    assert stored.get_body(("plain",)).get_content() == "Hello.\n.a line that starts with a dot\n"


def test_refusals_are_sorted_as_without_pipelining_and_the_connection_still_sends(app, server, tmp_path):
    controller = server(Refusing)
    with app.app_context(), smtplib.SMTP("127.0.0.1", controller.port) as host:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.send_on(host, _message("nobody@example.com"))
        assert smtp.failure(refused.value) == smtp.PERMANENT
        with pytest.raises(smtplib.SMTPSenderRefused) as held:
            smtp.send_on(host, _message("ada@example.com", sender="blocked@komet.example"))
        assert smtp.failure(held.value) == smtp.UNREACHABLE  # the server's set-up, not this email
        smtp.send_on(host, _message("ada@example.com"))  # the empty messages were ended: in step
    assert [m["X-Envelope-To"] for m in _stored(tmp_path)] == ["ada@example.com"]


def test_a_refused_recipient_fails_its_email_and_the_rest_of_the_batch_is_sent(app, make, server, tmp_path):
    controller = server(Refusing)
    company = make.company()
    good, gone = make.staff(company, email="ada@example.com"), make.staff(company, email="nobody@example.com")
    with app.app_context():
        ids = [outbox.queue_email("password_changed", who.email, user_id=who.id).id for who in (gone, good)]
        db.session.commit()
    dramatiq.get_broker().flush_all()
    with app.app_context(), smtp_at(app, controller.port):
        thread = threading.Thread(target=_deliver, args=(app, ids))
        thread.start()
        thread.join(30)
        rows = {row.id: row for row in db.session.query(Email).filter(Email.id.in_(ids))}
    assert rows[ids[0]].status == EmailStatus.FAILED and "550" in rows[ids[0]].last_error
    assert rows[ids[1]].status == EmailStatus.SENT
    assert [m["X-Envelope-To"] for m in _stored(tmp_path)] == ["ada@example.com"]


def _deliver(app, ids):
    # A thread of its own, as a worker's: it opens its own SMTP connection to the refusing server.
    with app.app_context():
        outbox.deliver_many(ids)


def test_each_email_marked_sent_counts_as_its_worker_threads_progress(app, make, smtp_sink):
    """The mark is its own autocommit statement, no session commit: the heartbeat hears of it."""
    from types import SimpleNamespace

    from workers.middleware import HeartbeatMiddleware

    watcher = HeartbeatMiddleware(app)
    user = make.staff(make.company())
    with app.app_context():
        email_id = outbox.queue_email("password_changed", user.email, user_id=user.id).id
        db.session.commit()
    dramatiq.get_broker().flush_all()
    watcher.before_process_message(None, SimpleNamespace(message_id="m1"))
    watcher._in_hand["m1"][2] -= 60  # as if it last made progress a minute ago
    from komet.ops import heartbeats

    heartbeats.progress.connect(watcher.progressed)
    try:
        with app.app_context():
            assert outbox.deliver(email_id) is True
    finally:
        heartbeats.progress.disconnect(watcher.progressed)
    assert watcher.longest_without_progress() < 5
