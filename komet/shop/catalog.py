"""The shop's catalogue (a demo stand-in for the real product list)."""
from collections import namedtuple

from sqlalchemy import bindparam, select

from komet.connections import FastSelect
from komet.extensions import db
from komet.models import Product
from komet.pagination import MAX_PAGE

PAGE_SIZE = 50
CatalogueItem = namedtuple("CatalogueItem", "id sku name unit price")

# Built once, and run as plain Core (komet.connections.FastSelect): the shop page runs it on
# every request, and the ORM-enabled execution through the session cost more than the query.
_PAGE = FastSelect(
    select(Product.id, Product.sku, Product.name, Product.unit, Product.price)
    .where(Product.company_id == bindparam("company_id"))
    .order_by(Product.name, Product.id).limit(bindparam("limit")).offset(bindparam("offset"))
)


def catalogue_page(company_id, page=1):
    """One page of the company's products, by name (no page count is shown)."""
    page = min(max(page, 1), MAX_PAGE)
    rows = _PAGE.all(db.session, {"company_id": company_id, "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE})
    return [CatalogueItem(*row) for row in rows]
