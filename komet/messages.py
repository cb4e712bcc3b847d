"""Promotions and Messages: status, who sees what, the window rule, reads, sweeps.

Everything a buyer sees is decided from the clock at request time; the stored `status`
column only records transitions (the scheduler's sweeps keep it in step), so a late or
stopped scheduler never shows an expired message or hides a due one.
"""
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, exists, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from komet.clock import utcnow
from komet.extensions import db
from komet.models import Message, MessageCustomer, MessageCustomerRead, MessageRead, MessageStatus, MessageType


def status_at(message, now):
    """Draft before Publish On, Published until Expires On, Expired after."""
    if now < message.publish_on:
        return MessageStatus.DRAFT
    if now < message.expires_on:
        return MessageStatus.PUBLISHED
    return MessageStatus.EXPIRED


@dataclass(frozen=True)
class Shown:
    message: Message
    as_window: bool  # False: a pop-up
    read: bool


def _current(company_id, now):
    return and_(Message.company_id == company_id, Message.expires_on > now, Message.publish_on <= now)


def _for_customer(customer_id):
    return or_(
        Message.for_all_customers.is_(True),
        exists().where(MessageCustomer.message_id == Message.id, MessageCustomer.customer_id == customer_id),
    )


# The buyer's queries run on every shop page and every poll: built once, with bound
# parameters, so a request only binds values (building and caching the statement cost more
# than running it). Columns, not entities: the shop only shows these.
_CURRENT_IDS = (
    select(Message.id)
    .where(_current(bindparam("company_id"), bindparam("now")), _for_customer(bindparam("customer_id")))
    .order_by(Message.publish_on, Message.id)
)
_SHOWN = _CURRENT_IDS.add_columns(
    Message.title, Message.content_html, Message.type,
    exists().where(MessageRead.message_id == Message.id, MessageRead.user_id == bindparam("user_id"),
                   MessageRead.customer_id == bindparam("customer_id")).label("read"),
)


def current_ids(company_id, customer_id, now=None):
    """Ids of the messages current for this customer: the buyer's cheap "anything new?" check."""
    params = {"company_id": company_id, "customer_id": customer_id, "now": now or utcnow()}
    return list(db.session.scalars(_CURRENT_IDS, params))


def is_for_customer(message, customer_id):
    """True if the message is addressed to this customer (all customers, or chosen)."""
    return message.for_all_customers or db.session.scalar(select(exists().where(
        MessageCustomer.message_id == message.id, MessageCustomer.customer_id == customer_id)))


def current_for_customer(company_id, customer_id, user_id, now=None):
    """What the buyer sees now, in order, with the window rule applied and their reads marked.

    Among the current messages for this customer, ordered by Publish On then id, the first
    Window shows as a window and every other message as a pop-up. One query: the messages,
    each with whether this user already read it for this customer.
    """
    params = {"company_id": company_id, "customer_id": customer_id, "user_id": user_id, "now": now or utcnow()}
    rows = db.session.execute(_SHOWN, params).all()
    return apply_window_rule(rows, {row.id for row in rows if row.read})


def apply_window_rule(messages, read_ids=frozenset()):
    """`messages` ordered by Publish On then id -> Shown items: only the first Window is a window."""
    shown, window_taken = [], False
    for message in messages:
        as_window = message.type == MessageType.WINDOW and not window_taken
        window_taken = window_taken or as_window
        shown.append(Shown(message, as_window, message.id in read_ids))
    return shown


def _insert(model):
    return (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(model)


def mark_read(message, user_id, customer_id, now=None):
    """Record that the user read the message for this customer; a repeat does nothing.

    Inserts that ignore the unique-key conflict, so double clicks and concurrent requests
    leave exactly one row without an error. The customer's first read also bumps
    `customers_read`: of two users of one customer reading at once, only one insert into
    message_customer_reads takes (the other waits on its key, then does nothing).
    """
    now = now or utcnow()
    db.session.execute(_insert(MessageRead).values(
        message_id=message.id, user_id=user_id, customer_id=customer_id, company_id=message.company_id, read_at=now,
    ).on_conflict_do_nothing(index_elements=["message_id", "user_id", "customer_id"]))
    # RETURNING, not rowcount: SQLAlchemy reports -1 ("unknown") for this insert, taken or not.
    first = db.session.execute(_insert(MessageCustomerRead).values(
        message_id=message.id, customer_id=customer_id, first_read_at=now,
    ).on_conflict_do_nothing(index_elements=["message_id", "customer_id"])
      .returning(MessageCustomerRead.message_id)).first()
    if first is not None:
        db.session.execute(update(Message).where(Message.id == message.id)
                           .values(customers_read=Message.customers_read + 1)
                           .execution_options(synchronize_session=False))


def overlapping_window(message):
    """The Window that shows as the window instead of `message` during an overlap, or None."""
    if message.type != MessageType.WINDOW:
        return None
    # An unsaved message gets the highest id, so it loses a tie on Publish On.
    wins_tie = Message.id < message.id if message.id else true()
    earlier = or_(Message.publish_on < message.publish_on,
                  and_(Message.publish_on == message.publish_on, wins_tie))
    return db.session.scalar(
        select(Message).where(
            Message.company_id == message.company_id, Message.type == MessageType.WINDOW,
            Message.id != (message.id or 0), earlier,
            Message.publish_on < message.expires_on, Message.expires_on > message.publish_on,
        ).order_by(Message.publish_on, Message.id).limit(1)
    )


def publish_now(message, now=None):
    """Publish a draft at once (Publish On becomes now)."""
    now = now or utcnow()
    message.publish_on = now
    if message.expires_on <= now:
        raise ValueError("Expires On has passed: change it before publishing.")
    message.status, message.published_at = MessageStatus.PUBLISHED, now


# Scheduler sweeps. Conditional updates: a second scheduler running the same sweep finds
# nothing left to change, so each transition happens (and is recorded) once.

def publish_due(now=None):
    now = now or utcnow()
    changed = db.session.execute(
        update(Message).where(Message.status == MessageStatus.DRAFT, Message.publish_on <= now,
                              Message.expires_on > now)
        .values(status=MessageStatus.PUBLISHED, published_at=now)
    ).rowcount
    db.session.commit()
    return changed


def expire_due(now=None):
    now = now or utcnow()
    changed = db.session.execute(
        update(Message).where(Message.status != MessageStatus.EXPIRED, Message.expires_on <= now)
        .values(status=MessageStatus.EXPIRED, expired_at=now)
    ).rowcount
    db.session.commit()
    return changed
