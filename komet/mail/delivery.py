"""Sending outbox emails: claim, render, send, and record each one's outcome at once.

One actor run claims the email of its message and, on PostgreSQL, up to OUTBOX_CLAIM_BATCH - 1
other fresh emails (pending, never tried) in one `UPDATE … RETURNING` whose subquery skips rows
another worker holds (`FOR UPDATE SKIP LOCKED`): their own messages later find nothing to do.
The claim returns the rows, so nothing is read again before rendering; every email is rendered
before the first is sent, so the rows they name are read once for the batch. Then one SMTP
connection of this thread (komet/mail/pool.py) sends them one after the other, and each is
marked sent in its own statement and commit the moment the server answers 250: a thread has
at most one email between a 250 and its commit, whatever the batch. A batch never outlasts
its lease: once the lease has less than two MAIL_TIMEOUTs left, the emails not yet begun are
given back to the queue.
"""
import functools
import logging
import time
from datetime import timedelta, timezone

from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select, update

from komet.clock import utcnow
from komet.extensions import db
from komet.mail import pool, smtp
from komet.mail.kinds import NothingToSend, Undeliverable, prefetched, render_message
from komet.models import Email, EmailStatus
from komet.ops import heartbeats, logs

log = logging.getLogger(__name__)
# Even past the give-up age, a row is tried this many times since it was queued or retried
# by hand: an operator's retry of an old email gets real tries, not one.
MIN_ATTEMPTS_BEFORE_GIVING_UP = 3


# Built once, run once per email sent: a Core statement on the session's connection costs a
# fraction of an ORM update built anew.
_EMAILS = Email.__table__
_MARK_SENT = (_EMAILS.update()
              .where(_EMAILS.c.id == bindparam("row_id"), _EMAILS.c.claimed_at == bindparam("claimed"))
              .values(status=EmailStatus.SENT.value, sent_at=bindparam("sent"), subject=bindparam("subject_line"),
                      last_error=None, failing_since=None))
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
# The same statement for psycopg itself (prepared by the server after a few uses). UTCDateTime
# stores naive UTC, which is what _Marks passes.
_MARK_SENT_SQL = (f"UPDATE {_EMAILS.name} SET status = '{EmailStatus.SENT.value}', sent_at = %s, subject = %s, "
                  "last_error = NULL, failing_since = NULL WHERE id = %s AND claimed_at = %s")


def seconds(name):
    return timedelta(seconds=current_app.config[name])


def claimable(now):
    """Emails a worker may take: pending, or claimed by a worker whose lease ran out."""
    return _claimable(now - seconds("OUTBOX_LEASE_SECONDS"))


def _claimable(lease_ended):
    return or_(Email.status == EmailStatus.PENDING,
               and_(Email.status == EmailStatus.SENDING, Email.claimed_at < lease_ended))


@functools.cache
def _claim_statement(with_fresh):
    """The claim, built once (with fresh emails, PostgreSQL, or without): a statement built anew
    each time cost more CPU, in SQLAlchemy's constructors and cache key, than PostgreSQL's work.
    Core rows come back, not ORM objects: loading each claimed row into the session (identity
    map, instance state) cost more than the claim. What renders and records an email reads
    its columns as attributes, the same on both."""
    ids, when = bindparam("ids", expanding=True), bindparam("claimed_now", type_=_EMAILS.c.claimed_at.type)
    wanted = and_(Email.id.in_(ids), _claimable(bindparam("lease_ended", type_=_EMAILS.c.claimed_at.type)))
    if with_fresh:
        fresh = (select(Email.id).where(Email.status == EmailStatus.PENDING, Email.attempts == 0, Email.id.not_in(ids))
                 .order_by(Email.enqueued_at).limit(bindparam("room")).with_for_update(skip_locked=True))
        wanted = or_(wanted, and_(Email.id.in_(fresh.scalar_subquery()), Email.status == EmailStatus.PENDING,
                                  Email.attempts == 0))
    return (_EMAILS.update().where(wanted)
            .values(status=EmailStatus.SENDING, claimed_at=when, attempts=_EMAILS.c.attempts + 1,
                    claimed_host=bindparam("host"), claimed_pid=bindparam("pid"))
            .returning(*_EMAILS.c))


def deliver(email_id, now=None):
    """Send outbox email `email_id` if nobody has (with a batch of other fresh ones); True if
    this call sent it."""
    return email_id in deliver_many([email_id], now)


def deliver_many(email_ids, now=None):
    """Send the outbox emails `email_ids` nobody has sent or holds, and on PostgreSQL fresh
    ones up to a batch; the ids this call sent.

    A failed send is recorded on its row (pending again, or failed when it can never be sent
    or is given up) and not raised: the re-drive is what tries again, after a backoff.
    """
    now = now or utcnow()
    claimed = _claim(email_ids, now)
    # Another email of the batch is begun only while the claim's lease has room for a slow
    # conversation (two MAIL_TIMEOUTs): the batch's size does not stretch the lease.
    begin_until = time.monotonic() + current_app.config["OUTBOX_LEASE_SECONDS"] - 2 * current_app.config["MAIL_TIMEOUT"]
    with prefetched(claimed):
        batch = [(email, _render(email, now)) for email in claimed]
    # End the reads' transaction: none stays open while the batch is sent. A commit, not a
    # rollback: psycopg forgets its prepared statements on a rollback.
    db.session.commit()
    sent = set()
    # The marks' own connection, in autocommit for the whole batch: taken from the pool once,
    # not once per email as the session's would be (with its isolation level set and reset).
    with db.session.get_bind().connect().execution_options(**_AUTOCOMMIT) as connection:
        marks = _Marks(connection)
        for position, (email, message) in enumerate(batch):
            if message is None:
                continue  # recorded by _render
            if position and time.monotonic() > begin_until:  # the rest go back to the queue, untried
                _unclaim([other.id for other, rendered in batch[position:] if rendered is not None], now)
                break
            outcome = _send(email, message, now, marks)
            if outcome is True:
                sent.add(email.id)
            elif outcome == smtp.UNREACHABLE:  # the rest would wait on the same server: back to the queue
                _unclaim([other.id for other, rendered in batch[position + 1:] if rendered is not None], now)
                break
    return sent


def _claim(email_ids, now):
    """The claimed rows (those asked for first), as Core rows: a commit does not expire them."""
    room = current_app.config["OUTBOX_CLAIM_BATCH"] - len(email_ids)
    with_fresh = room > 0 and db.session.get_bind().dialect.name == "postgresql"
    host, pid = heartbeats.this_process()  # the scheduler re-drives a dead claimer's emails at once
    rows = db.session.execute(_claim_statement(with_fresh), {
        "ids": list(email_ids), "claimed_now": now, "lease_ended": now - seconds("OUTBOX_LEASE_SECONDS"),
        "host": host, "pid": pid, **({"room": room} if with_fresh else {})}).all()
    db.session.commit()
    asked = set(email_ids)
    return sorted(rows, key=lambda row: (row.id not in asked, row.id))


def _render(email, now):
    """The email's Flask-Mail message, or None when it was recorded as never to be sent."""
    try:
        return render_message(email)
    except Undeliverable as exc:
        _release(email, now, EmailStatus.FAILED, str(exc))
    except NothingToSend as exc:
        _release(email, now, EmailStatus.SKIPPED, str(exc))
    except Exception as exc:  # a template or a lookup failed: try again later, as for SMTP
        _failed(email, now, exc)
    return None


def _send(email, message, now, marks):
    """True once the server accepted it (and the row says sent, on the autocommit connection
    `marks`); else the failure's kind."""
    token = logs.request_id.set(email.trace_id or logs.request_id.get())  # its own request's id
    try:
        try:
            pool.send(message)
        except Exception as exc:  # refused, timed out, any SMTP reply
            return _failed(email, now, exc)
        # The server answered 250: mark the row sent now, in its own statement and commit,
        # before anything else is said to the server. A worker killed in between sends it twice.
        # The statement is its own transaction (autocommit), durable once it returns: one round
        # trip to PostgreSQL instead of three (BEGIN, UPDATE, COMMIT).
        marks.sent(email.id, now, message.subject[:255])
        log.info("email %s sent", email.id, extra={"email_id": email.id, "request_id": logs.request_id.get()})
        return True
    finally:
        logs.request_id.reset(token)


class _Marks:
    """Marks emails sent on one autocommit connection, each in its own statement.

    On PostgreSQL the statement goes to psycopg's cursor directly: SQLAlchemy's execution around
    one small UPDATE cost more CPU than the UPDATE, and this runs once per email. Elsewhere
    (SQLite in development, whose datetimes SQLAlchemy writes in a format of its own) it is the
    Core statement. Each mark also tells the worker's heartbeat that this thread made progress.
    """

    def __init__(self, connection):
        self.connection = connection
        self.cursor = (connection.connection.driver_connection.cursor()
                       if connection.dialect.name == "postgresql" else None)

    def sent(self, email_id, claimed, subject):
        sent = utcnow()
        if self.cursor is not None:
            self.cursor.execute(_MARK_SENT_SQL, (_naive(sent), subject, email_id, _naive(claimed)))
        else:
            self.connection.execute(_MARK_SENT, {"row_id": email_id, "claimed": claimed, "sent": sent,
                                                 "subject_line": subject})
        heartbeats.progressed()


def _naive(moment):
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _failed(email, now, exc):
    kind = smtp.failure(exc)
    give_up = kind == smtp.PERMANENT or _gives_up(email, now)
    log.warning("email %s attempt %s failed%s: %s", email.id, email.attempts,
                "; it can never be sent" if kind == smtp.PERMANENT else "; giving up" if give_up
                else "; the re-drive tries again", exc)
    _release(email, now, EmailStatus.FAILED if give_up else EmailStatus.PENDING, smtp.describe(exc),
             unreachable=kind == smtp.UNREACHABLE)
    return kind


def _gives_up(email, now):
    too_old = email.created_at <= now - seconds("OUTBOX_GIVE_UP_AFTER_SECONDS")
    return too_old and email.attempts >= MIN_ATTEMPTS_BEFORE_GIVING_UP


def _release(email, claimed_at, status, error, unreachable=False):
    db.session.rollback()
    # enqueued_at is the last hand-off: the re-drive's backoff counts from this attempt. An
    # attempt that did not reach SMTP keeps (or starts) the time SMTP began failing this email.
    failing = func.coalesce(Email.failing_since, claimed_at) if unreachable else None
    db.session.execute(
        update(Email).where(Email.id == email.id, Email.claimed_at == claimed_at)
        .values(status=status, claimed_at=None, claimed_host=None, claimed_pid=None, enqueued_at=claimed_at,
                last_error=error[:2000], failing_since=failing)
    )
    db.session.commit()


def _unclaim(email_ids, claimed_at):
    """Give back emails claimed and not tried: pending, as they were (their re-drive sends them)."""
    if email_ids:
        db.session.execute(
            update(Email).where(Email.id.in_(email_ids), Email.claimed_at == claimed_at)
            .values(status=EmailStatus.PENDING, claimed_at=None, claimed_host=None, claimed_pid=None,
                    attempts=Email.attempts - 1)
        )
        db.session.commit()
