"""Message status is a function of the clock; the stored column follows it.

Draft before Publish On, Published until Expires On, Expired after. Buyers and Message
History read the status from the clock; the stored `status` column (kept for indexes and
reports) is written by exactly one function, `sync_status`, which every writer and the
scheduler's sweep call. So an edit that re-opens an expired message, a Publish, a copy and
a late sweep all leave the column saying what the clock says.
"""
from sqlalchemy import case, update

from komet import caching
from komet.clock import utcnow
from komet.extensions import db
from komet.models import Message, MessageStatus
from komet.models.messages import DRAFT_ROWS, UNEXPIRED_ROWS


def status_at(message, now):
    """Draft before Publish On, Published until Expires On, Expired after.

    `message` is anything with `publish_on` and `expires_on` (a Message or a history row).
    """
    if now < message.publish_on:
        return MessageStatus.DRAFT
    if now < message.expires_on:
        return MessageStatus.PUBLISHED
    return MessageStatus.EXPIRED


def status_expression(now):
    """`status_at` as SQL, for updates over many rows (the same three cases, the same bounds)."""
    return case((Message.publish_on > now, MessageStatus.DRAFT.value),
                (Message.expires_on > now, MessageStatus.PUBLISHED.value),
                else_=MessageStatus.EXPIRED.value)


def sync_status(now, *where):
    """Bring the stored status of the messages matching `where` in line with the clock.

    One conditional update: rows already in step are not touched, so running it twice (or in
    two schedulers at once) records each transition once. Returns the company id of each
    changed row.
    """
    clock = status_expression(now)
    return db.session.scalars(
        update(Message).where(*where, Message.status != clock)
        .values(status=clock,
                published_at=case((Message.publish_on <= now, db.func.coalesce(Message.published_at, now)),
                                  else_=None),
                expired_at=case((Message.expires_on <= now, db.func.coalesce(Message.expired_at, now)),
                                else_=None))
        .returning(Message.company_id)
        .execution_options(synchronize_session=False)
    ).all()


def sync_one(message, now=None):
    """`sync_status` for one saved message, and its attributes reloaded to match."""
    sync_status(now or utcnow(), Message.id == message.id)
    db.session.expire(message, ["status", "published_at", "expired_at"])


def publish(message, now=None):
    """Publish a draft at once: Publish On becomes now. False (nothing changed) unless it is a draft."""
    now = now or utcnow()
    if status_at(message, now) != MessageStatus.DRAFT:
        return False
    message.publish_on = now
    db.session.flush()
    sync_one(message, now)
    return True


def sweep(now=None):
    """The scheduler's job: record every transition that is due. Safe in several schedulers.

    Two updates, each narrowed to the rows one partial index finds (drafts past Publish On,
    then unexpired rows past Expires On), so a sweep costs the due rows whatever the table's
    size; `sync_status` decides what each becomes.
    """
    now = now or utcnow()
    changed = sync_status(now, DRAFT_ROWS, Message.publish_on <= now)
    changed += sync_status(now, UNEXPIRED_ROWS, Message.expires_on <= now)
    caching.bump_history(*sorted(set(changed)))  # sorted: two schedulers lock companies in one order
    db.session.commit()
    return len(changed)
