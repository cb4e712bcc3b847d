"""The shop's catalogue (a demo stand-in for the real product list)."""
from komet.extensions import db
from komet.models import Product
from komet.tenancy import scoped

PAGE_SIZE = 50


def catalogue_page(page=1):
    """One page of the current company's products, by name."""
    return db.paginate(scoped(Product).order_by(Product.name, Product.id), page=page,
                       per_page=PAGE_SIZE, error_out=False, count=False)  # no page count shown
