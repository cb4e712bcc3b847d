"""One page of a long list in one query.

Two ways to know what lies beyond the page:
- counted (the default): `count(*) OVER ()` gives each row the number of rows the filter
  matched, so the pager can say "Page 2 of 7" at the cost of reading every matching row;
- uncounted (`counted=False`): one row more than the page is fetched, which says only whether
  there is a next page, and an index on the sort order makes the page cost O(page) however
  long the list grows (Message History).
"""
import math
from dataclasses import dataclass

from sqlalchemy import func

from komet.extensions import db

# Pages past the end show the last one; past this, the offset would overflow the database's
# bigint (a hand-typed ?page=9223372036854775808).
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int | None  # None: not counted
    more: bool = False  # uncounted: whether a next page exists

    @property
    def pages(self):
        """The number of pages, or None when the list was not counted."""
        return None if self.total is None else max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.more if self.total is None else self.page < self.pages

    @property
    def prev_num(self):
        return self.page - 1

    @property
    def next_num(self):
        return self.page + 1


def paginate(query, page, per_page, counted=True):
    """Page `page` (from 1) of the select `query`; a page past the end shows the last one."""
    page = min(max(page, 1), MAX_PAGE)
    offset = (page - 1) * per_page
    if counted:
        rows = db.session.execute(query.add_columns(func.count().over().label("total_rows"))
                                  .limit(per_page).offset(offset)).all()
    else:
        rows = db.session.execute(query.limit(per_page + 1).offset(offset)).all()
    if not rows and page > 1:  # past the end (the list shrank, or a hand-typed URL): one more query
        total = db.session.scalar(query.with_only_columns(func.count()).order_by(None))
        if total:
            return paginate(query, math.ceil(total / per_page), per_page, counted)
        return Page([], 1, per_page, 0 if counted else None)
    total = (rows[0].total_rows if rows else 0) if counted else None
    more = len(rows) > per_page
    rows = rows[:per_page]
    described = query.column_descriptions
    if len(described) == 1 and described[0]["expr"] is described[0]["entity"]:  # select(Model): models
        rows = [row[0] for row in rows]
    return Page(rows, page, per_page, total, more)
