"""One page of a long list, counted in the same query as its rows.

`count(*) OVER ()` gives each row the number of rows the filter matched, so a page costs one
round trip instead of Flask-SQLAlchemy's two (rows, then a separate COUNT).
"""
import math
from dataclasses import dataclass

from sqlalchemy import func

from komet.extensions import db


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self):
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def prev_num(self):
        return self.page - 1

    @property
    def next_num(self):
        return self.page + 1


def paginate(query, page, per_page):
    """Page `page` (from 1) of the select `query`; a page past the end shows the last one."""
    page = max(page, 1)
    rows = db.session.execute(query.add_columns(func.count().over().label("total_rows"))
                              .limit(per_page).offset((page - 1) * per_page)).all()
    if not rows and page > 1:  # past the end (the list shrank, or a hand-typed URL): one more query
        total = db.session.scalar(query.with_only_columns(func.count()).order_by(None))
        return paginate(query, math.ceil(total / per_page), per_page) if total else Page([], 1, per_page, 0)
    total = rows[0].total_rows if rows else 0
    described = query.column_descriptions
    if len(described) == 1 and described[0]["expr"] is described[0]["entity"]:  # select(Model): models
        rows = [row[0] for row in rows]
    return Page(rows, page, per_page, total)
