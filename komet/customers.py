"""The current company's customers as a picker finds and checks them: a few at a time, never all.

Shared by every form that chooses customers (New Message's audience, an e-commerce user's
customers, an access request's existing customer): each costs the same with 10 customers or
10,000, because nothing here reads more rows than it was asked for.
"""
from komet.extensions import db
from komet.models import Customer
from komet.search import contains
from komet.tenancy import scoped

PICKER_LIMIT = 20


def search(q, exclude=(), limit=PICKER_LIMIT):
    """Up to `limit` of this company's customers whose name or code contains `q`, by name."""
    query = scoped(Customer)
    if q.strip():
        query = query.where(contains(q.strip(), Customer.name, Customer.code))
    if exclude:
        query = query.where(Customer.id.not_in(list(exclude)))
    return db.session.scalars(query.order_by(Customer.name, Customer.id).limit(limit)).all()


def by_ids(ids):
    """This company's customers among `ids`, by name: another company's ids and unknown ones
    are left out. One query, bounded by the number of ids; none when `ids` is empty."""
    ids = set(ids)
    if not ids:
        return []
    return db.session.scalars(scoped(Customer).where(Customer.id.in_(ids)).order_by(Customer.name, Customer.id)).all()
