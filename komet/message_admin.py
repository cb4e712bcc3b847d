"""What seller staff do with messages: save, copy, delete, list the history."""
import re

import nh3
from sqlalchemy import delete, select

from komet.clock import utcnow
from komet.extensions import db
from komet.messages import publish_now
from komet.pagination import paginate
from komet.models import Customer, Message, MessageCustomer, MessageStatus
from komet.tenancy import current_company, scoped

PAGE_SIZE = 20

# What message content may contain after sanitising: text formatting, links, lists, images
# served by this app. No script, no event handlers, no style, no javascript: or data: URLs.
_TAGS = {"p", "br", "div", "span", "strong", "b", "em", "i", "u", "del", "s", "h1", "h2", "h3", "blockquote",
         "pre", "code", "ul", "ol", "li", "a", "img", "figure", "figcaption"}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}


_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")


def sanitize(html):
    """Message HTML reduced to the allow-list (nh3 also forces rel="noopener noreferrer" on links).

    Every image gets an alt attribute (empty unless given): screen readers then skip the file
    name and read the caption Trix puts beside it.
    """
    clean = nh3.clean(html or "", tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"})
    return _IMG_WITHOUT_ALT.sub('<img alt=""', clean)


def customer_choices():
    return [(c.id, c.name) for c in db.session.scalars(scoped(Customer).order_by(Customer.name))]


def save_message(message, form, user_id):
    """Copy the form into `message` (new or existing) for the current company and commit."""
    now = utcnow()
    message.company_id = current_company().id
    message.title = form.title.data.strip()
    message.content_html = sanitize(form.content.data)
    message.type = form.type.data
    message.expires_on = form.expires_on.data
    message.publish_on = form.publish_on.data or now
    message.for_all_customers = form.audience.data == "all"
    if message.id is None:
        message.created_by_id = user_id
        db.session.add(message)
        db.session.flush()
    if form.publish_now.data:
        publish_now(message, now)
    elif message.publish_on > now:
        message.status, message.published_at = MessageStatus.DRAFT, None
    _set_customers(message, [] if message.for_all_customers else form.customers.data)
    db.session.commit()
    return message


def _set_customers(message, customer_ids):
    db.session.execute(delete(MessageCustomer).where(MessageCustomer.message_id == message.id))
    allowed = {cid for cid, _ in customer_choices()}  # never another company's customer
    db.session.add_all(MessageCustomer(message_id=message.id, customer_id=cid)
                       for cid in customer_ids if cid in allowed)


def chosen_customer_ids(message):
    return list(db.session.scalars(select(MessageCustomer.customer_id)
                                   .where(MessageCustomer.message_id == message.id)))


def copy_message(message, user_id):
    """A new draft with the same content and audience, not yet scheduled to be seen."""
    copy = Message(company_id=message.company_id, title=f"Copy of {message.title}"[:200],
                   content_html=message.content_html, type=message.type, publish_on=message.publish_on,
                   expires_on=message.expires_on, for_all_customers=message.for_all_customers,
                   status=MessageStatus.DRAFT, created_by_id=user_id)
    now = utcnow()
    if copy.publish_on <= now:  # a copy must not go live by itself: move it to the future
        span = message.expires_on - message.publish_on
        copy.publish_on, copy.expires_on = now.replace(microsecond=0) + span, now.replace(microsecond=0) + 2 * span
    db.session.add(copy)
    db.session.flush()
    _set_customers(copy, chosen_customer_ids(message))
    db.session.commit()
    return copy


def publish(message):
    """Publish a draft now; a message already published or expired stays as it is."""
    if message.status == MessageStatus.DRAFT and message.publish_on > utcnow() < message.expires_on:
        publish_now(message)
        db.session.commit()


def delete_message(message):
    db.session.delete(message)
    db.session.commit()


def history_page(search="", page=1):
    """A page of the company's messages, newest Publish On first, in one query.

    Rows of the columns the table shows (read counts are a column), not whole messages.
    """
    query = scoped(Message).with_only_columns(Message.id, Message.title, Message.type, Message.publish_on,
                                              Message.expires_on, Message.customers_read)
    if search.strip():
        query = query.where(Message.title.ilike(f"%{search.strip()}%"))
    return paginate(query.order_by(Message.publish_on.desc(), Message.id.desc()), page, PAGE_SIZE)


def readers(message):
    """Who read `message`: (customer name, user name, user email, read_at) by customer, then time."""
    from komet.models import MessageRead, User

    return db.session.execute(
        select(Customer.name, User.name, User.email, MessageRead.read_at)
        .join(Customer, Customer.id == MessageRead.customer_id).join(User, User.id == MessageRead.user_id)
        .where(MessageRead.message_id == message.id)
        .order_by(Customer.name, MessageRead.read_at)
    ).all()


def _cell(value):
    # A cell starting with = + - @ is a formula to spreadsheet apps: keep it text.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value


def readers_csv(message, tz_name):
    """The readers as CSV text. UTF-8 with a byte-order mark so spreadsheet apps keep emoji."""
    import csv
    import io

    from komet.timezones import format_local

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["Message", "Customer", "User", "Email", "Read at"])
    for customer, user, email, read_at in readers(message):
        writer.writerow([_cell(message.title), _cell(customer), _cell(user), _cell(email),
                         format_local(read_at, tz_name)])
    return out.getvalue()
