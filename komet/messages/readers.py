"""Who read a message and how far it reached: the audience, the chart, the readers, the CSV."""
import calendar
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, bindparam, case, func, literal, select

from komet import caching
from komet.extensions import db
from komet.models import Customer, Message, MessageCustomer, MessageCustomerRead, MessageRead, User
from komet.pagination import paginate
from komet.tenancy import current_company
from komet.timezones import format_local, zone

PAGE_SIZE = 25
# Past this many days a bar per day gets too thin to read: bars become weeks, then months.
MAX_DAILY_BARS = 60
MAX_WEEKLY_BARS = 60


def audience_size():
    """How many customers a message is for, as a column of a select of messages.

    Every customer of the company is uncorrelated (PostgreSQL runs it once, as an InitPlan);
    chosen customers are counted per message from message_customers' primary key.
    """
    every = (select(func.count()).select_from(Customer)
             .where(Customer.company_id == current_company().id).scalar_subquery())
    chosen = (select(func.count()).select_from(MessageCustomer)
              .where(MessageCustomer.message_id == Message.id).correlate(Message).scalar_subquery())
    return case((Message.for_all_customers, every), else_=chosen)


def audience_of(message):
    """How many customers `message` is for: all of the company's, or the chosen ones."""
    return db.session.scalar(select(audience_size()).where(Message.id == message.id))


# -- The chart: customers reading per day (or week, or month) since Publish On -----------------

@dataclass(frozen=True)
class Bar:
    start: date  # the first local day of the bar
    label: str  # e.g. "Nov 2", "Week of Nov 2", "Nov 2026"
    readers: int  # customers whose first read falls in the bar
    so_far: int  # customers who had read by the end of the bar
    share: float | None  # so_far / audience (None for an empty audience)


@dataclass(frozen=True)
class Chart:
    unit: str  # "day", "week" or "month"
    bars: list
    audience: int

    @property
    def peak(self):
        return max((bar.readers for bar in self.bars), default=0)

    @property
    def busiest(self):
        return max(self.bars, key=lambda bar: bar.readers) if self.bars else None


def buckets(publish_on, until, tz_name):
    """The chart's unit and the local start day of each bar from `publish_on` to `until` (aware).

    A bar per day up to MAX_DAILY_BARS days, per week (from the publish day) up to
    MAX_WEEKLY_BARS weeks, then per calendar month: a year-long message draws ~52 bars, not 365.
    """
    first = publish_on.astimezone(zone(tz_name)).date()
    last = max(until.astimezone(zone(tz_name)).date(), first)
    days = (last - first).days + 1
    if days <= MAX_DAILY_BARS:
        return "day", [first + timedelta(days=n) for n in range(days)]
    if days <= 7 * MAX_WEEKLY_BARS:
        return "week", [first + timedelta(weeks=n) for n in range(-(-days // 7))]
    starts, month = [], first.replace(day=1)
    while month <= last:
        starts.append(month)
        month = month + timedelta(days=calendar.monthrange(month.year, month.month)[1])
    return "month", starts


def edges(starts, tz_name):
    """The UTC instant at which each local day in `starts` begins (23 or 25 hours apart at DST)."""
    tz = zone(tz_name)
    return [datetime.combine(day, time(), tzinfo=tz).astimezone(timezone.utc) for day in starts]


def series(unit, starts, counts, audience):
    """The bars: readers per bucket (`counts`: bucket index → customers) and the share so far."""
    bars, so_far = [], 0
    for index, start in enumerate(starts):
        readers = counts.get(index, 0)
        so_far += readers
        bars.append(Bar(start, _label(unit, start), readers, so_far, so_far / audience if audience else None))
    return Chart(unit, bars, audience)


def _label(unit, start):
    if unit == "month":
        return f"{start:%b %Y}"
    day = f"{start:%b} {start.day}"
    return f"Week of {day}" if unit == "week" else day


def reads_chart(message, audience, now, tz_name):
    """The chart of `message` up to `now` (or its expiry), or None before it is published.

    The bars' counts are cached (komet.caching) under the message's read count and the
    company's history version, which every new reader bumps: a message read by 50,000
    customers is counted once per new reader or new bar, not on every view.
    """
    if message.publish_on > now:
        return None
    unit, starts = buckets(message.publish_on, min(now, message.expires_on), tz_name)
    counts = {}
    if message.customers_read:
        company = current_company()
        key = (f"reads-chart:{caching.company_key(company)}:{company.history_version}:{message.id}:"
               f"{message.customers_read}:{message.publish_on.timestamp()}:{tz_name}:{starts[0]}:{len(starts)}")
        entry = caching.get(key)
        if entry is None:
            entry = caching.put(key, now + timedelta(days=1), counts=_bar_counts(message, starts, tz_name))
        counts = entry["counts"]
    return series(unit, starts, counts, audience)


def _bar_counts(message, starts, tz_name):
    # One query, O(bars) rows back: each first read is put in its bar by comparing it with the
    # bars' UTC edges, so local days (and DST) are Python's, and SQLite and PostgreSQL agree.
    read_at = MessageCustomerRead.first_read_at
    # A read before the first edge (Publish On moved later) counts in the first bar, one
    # after the last (Expires On moved earlier) in the last: the bars add up to every reader.
    whens = [(read_at < edge, index) for index, edge in enumerate(edges(starts[1:], tz_name))]
    bucket = case(*whens, else_=len(starts) - 1) if whens else literal(0)
    return dict(db.session.execute(
        select(bucket.label("bucket"), func.count()).where(MessageCustomerRead.message_id == message.id)
        .group_by("bucket")).all())


# -- The readers, a page at a time, and all of them as CSV -------------------------------------

def _message_id(message):
    # Written into the SQL rather than bound: the best plan depends on how many read this
    # message (start from its few reads, or walk the customers by name and stop after a page),
    # and a statement prepared once for every message would keep one plan for both.
    return bindparam("message_id", message.id, literal_execute=True)


def _readers(message):
    # From the company's customers in name order, each joined to its reads of the message: for
    # a message read by thousands, PostgreSQL walks the (company, name) index and stops after a
    # page, instead of sorting every reader to show 25 (a message read by few starts from them).
    its_reads = and_(MessageRead.customer_id == Customer.id, MessageRead.message_id == _message_id(message))
    return (select(Customer.name, User.name, User.email, MessageRead.read_at).select_from(Customer)
            .join(MessageRead, its_reads)
            .join(User, User.id == MessageRead.user_id)
            .where(Customer.company_id == message.company_id)
            .order_by(Customer.name, MessageRead.read_at, MessageRead.id))


def readers_page(message, page=1):
    """A page of who read `message`: (customer, user, email, read_at) by customer, then time."""
    return paginate(_readers(message), page, PAGE_SIZE, counting=_reads(message))


def _reads(message):
    # As many rows as _readers, counted from the reads alone (every read's customer and user exist).
    return select(MessageRead.id).where(MessageRead.message_id == _message_id(message))


def _cell(value):
    # A cell starting with = + - @ is a formula to spreadsheet apps: keep it text.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value


def readers_csv(message, tz_name, batch=500):
    """Every reader as CSV text, in chunks (streamed: 10,000 readers never sit in memory at once).

    UTF-8 with a byte-order mark so spreadsheet apps keep emoji.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow(["Message", "Customer", "User", "Email", "Read at"])
    title = _cell(message.title)
    for rows in db.session.execute(_readers(message).execution_options(yield_per=batch)).partitions():
        for customer, user, email, read_at in rows:
            writer.writerow([title, _cell(customer), _cell(user), _cell(email), format_local(read_at, tz_name)])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()
