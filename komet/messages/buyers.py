"""What a buyer sees after login, and what they have read.

Everything a buyer sees is decided from the clock at request time (never from the stored
status column), so a late or stopped scheduler never shows an expired message or hides a
due one.
"""
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import abort
from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from komet import caching
from komet.clock import utcnow
from komet.extensions import db
from komet.models import Message, MessageCustomer, MessageCustomerRead, MessageRead, MessageType


@dataclass(frozen=True)
class Shown:
    message: Message
    as_window: bool  # False: a pop-up
    read: bool


# The end of time, as an upper bound of Expires On. The statements below run as prepared
# statements with a generic plan (config.engine_options), which cannot see the value of
# "now": for an open range "expires_on > $now" PostgreSQL assumes a third of the company's
# messages match and scans the table, while for a closed range it assumes a small slice and
# uses ix_messages_company_expires_publish. Every message expires before this bound.
END_OF_TIME = datetime.max.replace(tzinfo=timezone.utc)


def _current(company_id, now):
    return and_(Message.company_id == company_id, Message.expires_on > now,
                Message.expires_on <= bindparam("end_of_time", END_OF_TIME, type_=Message.expires_on.type),
                Message.publish_on <= now)


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
    Message.title, Message.content_html, Message.type, Message.expires_on,
    exists().where(MessageRead.message_id == Message.id, MessageRead.user_id == bindparam("user_id"),
                   MessageRead.customer_id == bindparam("customer_id")).label("read"),
)


# The company's next Publish On: a buyer's messages change then, with no write to anything.
_NEXT_PUBLISH = select(func.min(Message.publish_on)).where(
    Message.company_id == bindparam("company_id"), Message.publish_on > bindparam("now"),
    Message.publish_on <= bindparam("end_of_time", END_OF_TIME, type_=Message.publish_on.type))


def shown_until(shown, company_id, now):
    """Until when `shown` (what a buyer of the company sees at `now`) stays what they see: the
    first Expires On among them, or the company's next Publish On (for any customer)."""
    next_publish = db.session.scalar(_NEXT_PUBLISH, {"company_id": company_id, "now": now})
    return min([item.message.expires_on for item in shown] + [next_publish or END_OF_TIME])


def current_ids(company_id, customer_id, now=None):
    """Ids of the messages current for this customer: the buyer's cheap "anything new?" check."""
    params = {"company_id": company_id, "customer_id": customer_id, "now": now or utcnow()}
    return list(db.session.scalars(_CURRENT_IDS, params))


def known_key(ids):
    """What the shop page tells the poll it already shows: the current ids, in order."""
    return ",".join(map(str, ids))


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


# More pop-ups than this stacked at once run off a phone's screen and hide the shop: the
# rest wait in the Messages menu, behind an "N more messages" entry.
MAX_OPEN_POPUPS = 3


def opening(shown, limit=MAX_OPEN_POPUPS):
    """Which unread messages open by themselves, and how many more wait in the menu.

    The window (if unread) and the newest `limit` unread pop-ups open; older unread pop-ups
    stay unread, so they open at a later visit once the newer ones are read.
    """
    unread_popups = [item.message.id for item in shown if not item.read and not item.as_window]
    ids = {item.message.id for item in shown if item.as_window and not item.read}
    ids.update(unread_popups[-limit:] if limit else [])
    return ids, max(0, len(unread_popups) - limit)


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
        caching.bump_history(message.company_id)  # the read count changed
    caching.bump_reads(user_id)


def record_read(message, user_id, customer_id):
    """The buyer closed `message`: 404 unless it is addressed to their customer, else record it."""
    if not is_for_customer(message, customer_id):
        abort(404)
    mark_read(message, user_id, customer_id)
    db.session.commit()
