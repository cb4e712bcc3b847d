"""Email outbox: write the row with the change, enqueue after commit, send exactly once.

A row is *claimed* by a conditional update before it is sent, so a second message for the
same row (a retry, a re-drive, two schedulers) finds nothing to do. A claim is a lease: a
worker that dies mid-send leaves the row `sending`, and after the lease the re-drive hands
it to another worker. The one window for a duplicate is a worker dying between the SMTP
server accepting the email and the row being marked sent; every email carries a stable
Message-ID so a receiving server can drop that duplicate.
"""
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, event, or_, select, update

from komet.clock import utcnow
from komet.extensions import db, mail
from komet.models import Email, EmailStatus

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
_PENDING_KEY = "komet.outbox.enqueue"


def init_app(app):
    event.listen(db.session, "after_commit", _enqueue_after_commit)
    event.listen(db.session, "after_rollback", _forget_after_rollback)


def queue_email(kind, to_address, company_id=None, **context):
    """Add an email to the outbox in the current transaction; it is enqueued on commit."""
    email = Email(kind=kind, to_address=to_address, company_id=company_id, context=context,
                  status=EmailStatus.PENDING, enqueued_at=utcnow())
    db.session.add(email)
    db.session.flush()  # the id is needed after commit, when the session can no longer query
    db.session.info.setdefault(_PENDING_KEY, []).append(email.id)
    return email


def _enqueue_after_commit(session):
    for email_id in session.info.pop(_PENDING_KEY, []):
        enqueue(email_id)


def _forget_after_rollback(session):
    session.info.pop(_PENDING_KEY, None)


def enqueue(email_id):
    """Hand the email to the broker; if the broker is down the re-drive will do it later."""
    from workers.emails import send_email

    try:
        send_email.send(email_id)
        return True
    except Exception:  # any broker failure: the row is safe in the outbox
        log.warning("could not enqueue email %s; the scheduler will re-drive it", email_id, exc_info=True)
        return False


def _claimable(now):
    return or_(
        Email.status == EmailStatus.PENDING,
        and_(Email.status == EmailStatus.SENDING, Email.claimed_at < now - LEASE),
    )


def deliver(email_id, now=None):
    """Send one outbox email if nobody has; True if this call sent it."""
    from komet.emails import Undeliverable, render_message

    now = now or utcnow()
    claimed = db.session.execute(
        update(Email).where(Email.id == email_id, _claimable(now))
        .values(status=EmailStatus.SENDING, claimed_at=now, attempts=Email.attempts + 1)
    ).rowcount
    db.session.commit()
    if not claimed:
        return False
    email = db.session.get(Email, email_id)
    try:
        message = render_message(email)
        mail.send(message)
    except Undeliverable as exc:
        _release(email, now, EmailStatus.FAILED, str(exc))
        return False
    except Exception as exc:
        status = EmailStatus.FAILED if email.attempts >= MAX_ATTEMPTS else EmailStatus.PENDING
        _release(email, now, status, f"{type(exc).__name__}: {exc}")
        raise  # let the worker retry with backoff
    db.session.execute(
        update(Email).where(Email.id == email_id, Email.claimed_at == now)
        .values(status=EmailStatus.SENT, sent_at=utcnow(), subject=message.subject, last_error=None)
    )
    db.session.commit()
    return True


def _release(email, claimed_at, status, error):
    db.session.rollback()
    db.session.execute(
        update(Email).where(Email.id == email.id, Email.claimed_at == claimed_at)
        .values(status=status, claimed_at=None, last_error=error[:2000])
    )
    db.session.commit()


def redrive(now=None, limit=500):
    """Enqueue emails left unsent too long; safe to run in several schedulers at once."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config["OUTBOX_REDRIVE_AFTER_SECONDS"])
    due = and_(_claimable(now), or_(Email.enqueued_at.is_(None), Email.enqueued_at < cutoff))
    ids = db.session.scalars(select(Email.id).where(due).order_by(Email.id).limit(limit)).all()
    enqueued = 0
    for email_id in ids:
        # Only the scheduler whose update matches enqueues: no double enqueue from two of them.
        won = db.session.execute(
            update(Email).where(Email.id == email_id, due).values(enqueued_at=now)
        ).rowcount
        db.session.commit()
        if won and enqueue(email_id):
            enqueued += 1
    return enqueued


def retry(email):
    """Put a failed email back in the queue (an admin's action)."""
    email.status = EmailStatus.PENDING
    email.attempts = 0
    email.last_error = None
    email.enqueued_at = utcnow()
    db.session.info.setdefault(_PENDING_KEY, []).append(email.id)
