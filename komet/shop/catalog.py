"""The shop's catalogue (a demo stand-in for the real product list)."""
from sqlalchemy import bindparam, select

from komet.extensions import db
from komet.models import Product
from komet.pagination import MAX_PAGE

PAGE_SIZE = 50

# Built once: the shop page runs it on every request (see komet.messages for why).
_PAGE = (
    select(Product.id, Product.sku, Product.name, Product.unit, Product.price)
    .where(Product.company_id == bindparam("company_id"))
    .order_by(Product.name, Product.id).limit(bindparam("limit")).offset(bindparam("offset"))
)


def catalogue_page(company_id, page=1):
    """One page of the company's products, by name (no page count is shown)."""
    page = min(max(page, 1), MAX_PAGE)
    return db.session.execute(_PAGE, {"company_id": company_id, "limit": PAGE_SIZE,
                                      "offset": (page - 1) * PAGE_SIZE}).all()
