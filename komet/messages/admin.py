"""What seller staff do with messages: save, copy, publish, delete, list and preview them."""
from datetime import timedelta

from sqlalchemy import and_, delete, insert, literal, or_, select, true

from komet import audit, caching
from komet.clock import utcnow
from komet.extensions import db
from komet.messages import readers, schedule
from komet.messages.buyers import END_OF_TIME, apply_window_rule
from komet.messages.content import sanitize
from komet.models import Customer, Message, MessageCustomer, MessageType
from komet.pagination import paginate
from komet.search import contains
from komet.tenancy import current_company, scoped

PAGE_SIZE = 20


def save_message(message, form, user_id):
    """Copy the form into `message` (new or existing) for the current company and commit."""
    now = utcnow()
    message.company_id = current_company().id
    message.title = form.title.data.strip()
    message.content_html = sanitize(form.content.data, message.company_id)
    message.type = form.type.data
    message.expires_on = form.expires_on.data
    message.publish_on = now if form.publish_now.data else (form.publish_on.data or now)
    message.for_all_customers = form.audience.data == "all"
    if message.id is None:
        message.created_by_id = user_id
        db.session.add(message)
    db.session.flush()
    schedule.sync_one(message, now)
    _set_customers(message, [] if message.for_all_customers else form.customers.data)
    audit.record("message_saved", message.title, company_id=message.company_id, actor_id=user_id)
    caching.bump_messages(message.company_id)
    db.session.commit()
    return message


def _set_customers(message, customer_ids):
    """Make `customer_ids` the message's audience, leaving out any that are not its company's
    customers: one INSERT … SELECT, which reads only the customers named."""
    db.session.execute(delete(MessageCustomer).where(MessageCustomer.message_id == message.id))
    if customer_ids:
        db.session.execute(insert(MessageCustomer).from_select(
            ["message_id", "customer_id"],
            select(literal(message.id), Customer.id)
            .where(Customer.company_id == message.company_id, Customer.id.in_(set(customer_ids)))))


def audience_customers(message):
    """The customers chosen for `message`, by name (none for a message to all customers)."""
    if message.for_all_customers:
        return []
    return db.session.scalars(
        select(Customer).join(MessageCustomer, MessageCustomer.customer_id == Customer.id)
        .where(MessageCustomer.message_id == message.id).order_by(Customer.name, Customer.id)).all()


def copy_message(message, user_id):
    """A new draft with the same content and audience, not yet scheduled to be seen."""
    copy = Message(company_id=message.company_id, title=f"Copy of {message.title}"[:200],
                   content_html=message.content_html, type=message.type, publish_on=message.publish_on,
                   expires_on=message.expires_on, for_all_customers=message.for_all_customers,
                   created_by_id=user_id)
    now = utcnow()
    if copy.publish_on <= now:  # a copy must not go live by itself: move it to the future
        # Capped: a message that runs until year 9999 must not push its copy past it.
        span = min(message.expires_on - message.publish_on, timedelta(days=10 * 366))
        copy.publish_on, copy.expires_on = now.replace(microsecond=0) + span, now.replace(microsecond=0) + 2 * span
    db.session.add(copy)
    db.session.flush()
    schedule.sync_one(copy, now)
    db.session.execute(insert(MessageCustomer).from_select(
        ["message_id", "customer_id"],
        select(literal(copy.id), MessageCustomer.customer_id).where(MessageCustomer.message_id == message.id)))
    audit.record("message_copied", f"{message.title} → {copy.title}", company_id=copy.company_id, actor_id=user_id)
    caching.bump_messages(copy.company_id)
    db.session.commit()
    return copy


def publish(message):
    """Publish a draft now; a message the clock calls Published or Expired stays as it is."""
    if schedule.publish(message):
        audit.record("message_published", message.title, company_id=message.company_id)
        caching.bump_messages(message.company_id)
        db.session.commit()


def delete_message(message):
    audit.record("message_deleted", message.title, company_id=message.company_id)
    db.session.delete(message)
    caching.bump_messages(message.company_id)
    db.session.commit()


def history_page(search="", page=1):
    """A page of the company's messages, newest Publish On first, in one query.

    Not counted: ix_messages_company_publish_id hands the page over in order, so a page costs
    the same with 20 messages or 20,000 (the pager offers Next instead of "of N").
    """
    return paginate(history_query(search), page, PAGE_SIZE, counted=False)


def history_until(rows, now):
    """Until when Message History's `rows` stay as drawn at `now`: each row's status changes at
    its next Publish On or Expires On."""
    return min((moment for row in rows for moment in (row.publish_on, row.expires_on) if moment > now),
               default=END_OF_TIME)


def history_query(search=""):
    """The company's messages as Message History lists them: the columns the table shows (read
    counts are a column, the audience's size a subquery), not whole messages, newest first."""
    query = scoped(Message).with_only_columns(Message.id, Message.title, Message.type, Message.publish_on,
                                              Message.expires_on, Message.customers_read,
                                              readers.audience_size().label("audience_size"))
    if search.strip():
        query = query.where(contains(search.strip(), Message.title))
    return query.order_by(Message.publish_on.desc(), Message.id.desc())


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


def overlap_notice(message):
    """What staff are told when another Window takes the window while `message` runs, or None."""
    other = overlapping_window(message)
    if other is None:
        return None
    return (f"“{other.title}” is also a Window during this period and starts first: it shows as the window, "
            f"and “{message.title}” shows as a pop-up while both run.")


def preview(message):
    """`message` as buyers get it: the window rule applied with the Window that overlaps it, if any."""
    other = overlapping_window(message)
    shown = apply_window_rule([other, message] if other else [message])
    return shown[-1], other
