"""Email outbox: write the row with the change, enqueue after commit, send at least once.

A row is *claimed* by a conditional update before it is sent, so a second message for the
same row (a retry, a re-drive, two schedulers) finds nothing to do. A claim is a lease
(`OUTBOX_LEASE_SECONDS`): a worker that dies mid-send leaves the row `sending`, and at the
first re-drive after the lease the row goes to another worker. The one window for a
duplicate is a worker dying between the SMTP server's 250 and the row's commit as sent; that
commit is the first thing done after the 250, so a thread has at most one email in it, and
every email carries a stable Message-ID so a receiving server can drop the copy.

Retries have one driver and one budget. A failed send (refused, timed out, any SMTP error)
puts the row back to `pending` and the scheduler's re-drive hands it to a worker again after
a backoff that doubles from `OUTBOX_RETRY_MIN_SECONDS` up to `OUTBOX_RETRY_MAX_SECONDS`; the
actor itself does not retry SMTP failures, so worker retries and re-drives never race each
other. The budget is time, not a count of attempts: a row is given up (`failed`) only once
it is older than `OUTBOX_GIVE_UP_AFTER_SECONDS` (a day by default), so an SMTP outage of
hours loses nothing however often the row was tried, re-driven or reclaimed after a lease.

Every message for one row carries the request id the row was queued under (`trace_id`), so
the worker logs a re-driven or retried send under the id of the request that caused it.
"""
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, event, insert, or_, select, update

from komet import broker
from komet.clock import utcnow
from komet.extensions import db
from komet.mail.delivery import (
    MIN_ATTEMPTS_BEFORE_GIVING_UP,
    claimable,
    deliver,
    deliver_many,
    seconds,
)
from komet.models import Email, EmailStatus, Heartbeat
from komet.ops import heartbeats, logs
from komet.pagination import paginate
from komet.tenancy import scoped

log = logging.getLogger(__name__)
PAGE_SIZE = 25
# The actor that sends one outbox email, and its queue. Named, not imported: the worker
# declares it (workers/emails.py), and komet never imports workers.
SEND_EMAIL_ACTOR, EMAIL_QUEUE = "send_email", "emails"
_PENDING_KEY = "komet.outbox.enqueue"
# A claim by a process with no heartbeat row is left alone this long: a worker can claim an
# email in the moment between its start and its first beat.
ORPHAN_GRACE = timedelta(seconds=60)


def init_app(app):
    event.listen(db.session, "after_commit", _enqueue_after_commit)
    event.listen(db.session, "after_rollback", _forget_after_rollback)


def queue_email(kind, to_address, company_id=None, **context):
    """Add an email to the outbox in the current transaction; it is enqueued on commit."""
    email = Email(kind=kind, to_address=to_address, company_id=company_id, context=context,
                  status=EmailStatus.PENDING, enqueued_at=utcnow(), trace_id=logs.trace_id())
    db.session.add(email)
    db.session.flush()  # the id is needed after commit, when the session can no longer query
    _enqueue_on_commit(email.id, email.trace_id)
    return email


def queue_emails(kind, to_addresses, company_id=None, **context):
    """`queue_email` to each address in one INSERT … VALUES (…), (…): a constant number of
    statements however many recipients (the staff told about an access request)."""
    if not to_addresses:
        return []
    now, trace_id = utcnow(), logs.trace_id()
    rows = [{"kind": kind, "to_address": address, "company_id": company_id, "context": context,
             "status": EmailStatus.PENDING, "enqueued_at": now, "created_at": now, "trace_id": trace_id}
            for address in to_addresses]
    ids = db.session.scalars(insert(Email).values(rows).returning(Email.id)).all()
    for email_id in ids:
        _enqueue_on_commit(email_id, trace_id)
    return ids


def _enqueue_on_commit(email_id, trace_id):
    db.session.info.setdefault(_PENDING_KEY, []).append((email_id, trace_id))


def _enqueue_after_commit(session):
    # One message for up to OUTBOX_CLAIM_BATCH emails of one request: an import's 5,000
    # activation emails are 100 messages, each one claim and one run of a worker thread.
    size, group, group_trace = current_app.config["OUTBOX_CLAIM_BATCH"], [], None
    for email_id, trace_id in session.info.pop(_PENDING_KEY, []):
        if group and (len(group) >= size or trace_id != group_trace):
            enqueue(group, group_trace)
            group = []
        group.append(email_id)
        group_trace = trace_id
    if group:
        enqueue(group, group_trace)


def _forget_after_rollback(session):
    session.info.pop(_PENDING_KEY, None)


def enqueue(email_ids, trace_id=None):
    """Hand the email (an id, or a list of ids) to the broker under its `trace_id` (the worker
    logs the send under it); if the broker is down the re-drive will do it later."""
    try:
        broker.send(SEND_EMAIL_ACTOR, EMAIL_QUEUE, email_ids, options=logs.message_options(trace_id))
        return True
    except Exception:  # any broker failure: the rows are safe in the outbox
        log.warning("could not enqueue email %s; the scheduler will re-drive it", email_ids, exc_info=True)
        return False


def retry_delay(attempts):
    """How long a pending email waits after its last hand-off before it is handed off again."""
    if attempts == 0:  # never tried: the broker was down, or the queue is long
        return seconds("OUTBOX_REDRIVE_AFTER_SECONDS")
    backoff = current_app.config["OUTBOX_RETRY_MIN_SECONDS"] * 2 ** min(attempts - 1, 20)
    return timedelta(seconds=min(backoff, current_app.config["OUTBOX_RETRY_MAX_SECONDS"]))


def redrive_orphans(now=None, limit=500):
    """Re-drive now, not after the lease, the emails held by a worker process known to be dead:
    its pid on this host is gone, or its heartbeat row is gone (it stopped, or a worker started
    on its host replaced it) and the claim is older than ORPHAN_GRACE (a process may claim
    before its first beat). A claimer nothing is known about keeps its lease."""
    now = now or utcnow()
    host = heartbeats.this_process()[0]
    rows = db.session.execute(
        select(Email.id, Email.claimed_at, Email.claimed_host, Email.claimed_pid, Email.trace_id,
               Heartbeat.id.label("beat"))
        .outerjoin(Heartbeat, and_(Heartbeat.role == heartbeats.WORKER, Heartbeat.host == Email.claimed_host,
                                   Heartbeat.pid == Email.claimed_pid))
        .where(Email.status == EmailStatus.SENDING, Email.claimed_pid.is_not(None))
        .order_by(Email.claimed_at).limit(limit)
    ).all()
    db.session.commit()
    enqueued = 0
    for row in rows:
        dead_here = row.claimed_host == host and not heartbeats.alive(row.claimed_pid)
        if not dead_here and (row.beat is not None or row.claimed_at > now - ORPHAN_GRACE):
            continue
        # Compare-and-set on the claim: of two schedulers (or a lease re-drive), one wins.
        won = db.session.execute(
            update(Email).where(Email.id == row.id, Email.status == EmailStatus.SENDING,
                                Email.claimed_at == row.claimed_at)
            .values(status=EmailStatus.PENDING, claimed_at=None, claimed_host=None, claimed_pid=None, enqueued_at=now)
        ).rowcount
        db.session.commit()
        if won:
            log.warning("email %s was held by worker %s on %s, which is gone: re-driven", row.id, row.claimed_pid,
                        row.claimed_host)
            enqueued += enqueue(row.id, row.trace_id)
    return enqueued


def redrive(now=None, limit=500):
    """Enqueue emails that are due again; safe to run in several schedulers at once.

    Due: a pending email whose backoff since its last hand-off has passed, and an email whose
    worker's lease ran out (once per lease, so a long queue is not flooded).
    """
    now = now or utcnow()
    orphans = redrive_orphans(now, limit)
    lease = seconds("OUTBOX_LEASE_SECONDS")
    soonest = min(retry_delay(0), retry_delay(1))
    candidates = db.session.execute(
        select(Email.id, Email.status, Email.attempts, Email.enqueued_at, Email.trace_id).where(or_(
            and_(Email.status == EmailStatus.PENDING,
                 or_(Email.enqueued_at.is_(None), Email.enqueued_at < now - soonest)),
            and_(Email.status == EmailStatus.SENDING, Email.claimed_at < now - lease,
                 or_(Email.enqueued_at.is_(None), Email.enqueued_at < now - lease)),
        )).order_by(Email.enqueued_at, Email.id).limit(limit)
    ).all()
    db.session.commit()
    enqueued = 0
    for row in candidates:
        if (row.status == EmailStatus.PENDING and row.enqueued_at is not None
                and row.enqueued_at > now - retry_delay(row.attempts)):
            continue  # still backing off
        # Compare-and-set on the hand-off time: of two schedulers, only one wins the row.
        seen = Email.enqueued_at.is_(None) if row.enqueued_at is None else Email.enqueued_at == row.enqueued_at
        won = db.session.execute(
            update(Email).where(Email.id == row.id, claimable(now), seen).values(enqueued_at=now)
        ).rowcount
        db.session.commit()
        if won and enqueue(row.id, row.trace_id):
            enqueued += 1
    return orphans + enqueued


def retry(email):
    """Put a failed email back in the queue (an admin's action); any other email stays as it is."""
    if email.status != EmailStatus.FAILED:
        return False
    email.status = EmailStatus.PENDING
    email.attempts = 0
    email.last_error = None
    email.enqueued_at = utcnow()
    # The send is logged under the id of the request that first queued the email; this line
    # joins it to the id of the request that retried it.
    log.info("email %s queued again by hand", email.id,
             extra={"request_id": logs.request_id.get(), "email_id": email.id, "trace_id": email.trace_id})
    _enqueue_on_commit(email.id, email.trace_id)
    db.session.commit()
    return True


def failed_emails(limit=100):
    """Every company's failed emails and those of no company (password resets), newest first:
    the operator's view (`flask emails failed`)."""
    return db.session.scalars(
        select(Email).where(Email.status == EmailStatus.FAILED).order_by(Email.id.desc()).limit(limit)
    ).all()


def retry_by_id(email_id):
    """An operator's retry (`flask emails retry ID`): True if the email was failed and is queued."""
    email = db.session.get(Email, email_id)
    return email is not None and retry(email)


def emails_page(page=1):
    """The current company's outgoing emails, newest first."""
    return paginate(scoped(Email).order_by(Email.id.desc()), page, PAGE_SIZE)
