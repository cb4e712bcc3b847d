"""One page of a long list, in O(page) whatever the list's length.

A page is read with one row more than it shows, which says whether a next page exists, and the
list is counted only up to COUNT_AHEAD rows past the page's start: a company with 50,000 users
is "Page 1 of 40+", not a read of 50,000 rows on every view. A list that fits
within that reach (most do) is counted exactly, as before; `counted=False` skips the count
(Message History, which says only Previous / Next).

Why a capped count rather than a keyset pager or a cached count: it keeps the pager people
know (numbered pages that can be bookmarked, Previous that works, an exact "Page 2 of 7" for
every list of fewer than a thousand rows), for any filter or search (a cached count would need
a version per filter and still pay O(rows) on each miss). Its price is O(offset) on pages
a person reaches only by clicking Next dozens of times.
"""
import math
from dataclasses import dataclass

from sqlalchemy import func, literal, select

from komet.extensions import db

# Pages past the end show the last one; past this, the offset would overflow the database's
# bigint (a hand-typed ?page=9223372036854775808).
MAX_PAGE = 1_000_000
# How far past a page's first row the list is counted; beyond it the pager says "40+".
COUNT_AHEAD = 1_000


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int | None  # None: not counted; else the rows counted (a lower bound if `capped`)
    more: bool = False  # whether a next page exists
    capped: bool = False  # the count stopped at its reach: there are more than `total`

    @property
    def pages(self):
        """The number of pages (at least, if `capped`), or None when the list was not counted."""
        return None if self.total is None else max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.more

    @property
    def prev_num(self):
        return self.page - 1

    @property
    def next_num(self):
        return self.page + 1


def _fixed(number):
    # LIMIT and OFFSET written into the SQL, not bound: in a statement prepared once (psycopg
    # prepares what runs five times), PostgreSQL's generic plan takes an unknown LIMIT for a
    # tenth of the rows, and sorts 50,000 readers to show 25 instead of walking an index.
    return literal(number, literal_execute=True)


def count_upto(query, limit):
    """A scalar subquery: how many rows `query` selects, counting no further than `limit`."""
    matched = (query.with_only_columns(literal(1), maintain_column_froms=True).order_by(None).limit(_fixed(limit))
               .correlate(None))
    return select(func.count()).select_from(matched.subquery()).correlate(None).scalar_subquery()


def paginate(query, page, per_page, counted=True, counting=None):
    """Page `page` (from 1) of the select `query`; a page past the end shows the last one.

    One query: the page, one row more (is there a next page?) and, if counted, the capped count
    as a column computed once (PostgreSQL runs the uncorrelated subquery as an InitPlan).
    `counting`: a cheaper select of as many rows as `query` (without its joins), to count instead.
    """
    page = min(max(page, 1), MAX_PAGE)
    offset = (page - 1) * per_page
    reach = offset + COUNT_AHEAD
    counting = query if counting is None else counting
    paged = query.add_columns(count_upto(counting, reach + 1).label("total_rows")) if counted else query
    rows = db.session.execute(paged.limit(_fixed(per_page + 1)).offset(_fixed(offset))).all()
    if not rows and page > 1:  # past the end (the list shrank, or a hand-typed URL): count, then the last page
        total = db.session.scalar(select(count_upto(counting, offset)))
        if total:
            return paginate(query, math.ceil(total / per_page), per_page, counted, counting)
        return Page([], 1, per_page, 0 if counted else None)
    more = len(rows) > per_page
    rows = rows[:per_page]
    total, capped = None, False
    if counted and not more:  # the last page: the rows before it and on it are all there is
        total = offset + len(rows)
    elif counted:
        total, capped = min(rows[0].total_rows, reach), rows[0].total_rows > reach
    if counted:
        rows = [row[:-1] for row in rows]
    described = query.column_descriptions
    if len(described) == 1 and described[0]["expr"] is described[0]["entity"]:  # select(Model): models
        rows = [row[0] for row in rows]
    return Page(rows, page, per_page, total, more, capped)
