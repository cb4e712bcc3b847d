"""The company's e-commerce users as Setup > Users lists them."""
from dataclasses import dataclass, replace

from sqlalchemy import select, union

from komet.search import contains
from komet.extensions import db
from komet.models import Customer, CustomerUser, EcommerceUser, LinkStatus, User
from komet.pagination import paginate
from komet.tenancy import current_company

PAGE_SIZE = 25


@dataclass
class UserRow:
    """One line of Setup > Users: the company's link to a login, with the login's email."""
    account: EcommerceUser
    email: str
    customers: list

    @property
    def id(self):
        return self.account.id

    @property
    def customer_names(self):
        return ", ".join(customer.name for customer in self.customers)


def _matches(company_id, search, status):
    """(id, name) of the company's users matching `search` (stripped, not empty) and `status`.

    Each way a user can match is its own arm of a union, so PostgreSQL answers each from its
    trigram index (migration 0016) and reads only the users that match, instead of testing
    every user of the company in turn; the arms carry the name, so a page of matches is sorted
    and cut without going back to the table. A CTE: the page and its count share one run.
    """
    own = [EcommerceUser.company_id == company_id, *_with_status(status)]
    pick = select(EcommerceUser.id, EcommerceUser.name)
    by_customer = (pick.join(CustomerUser, CustomerUser.user_id == EcommerceUser.user_id)
                   .join(Customer, Customer.id == CustomerUser.customer_id)
                   .where(*own, CustomerUser.company_id == company_id, Customer.company_id == company_id,
                          contains(search, Customer.name, Customer.code)))
    return union(
        pick.where(*own, contains(search, EcommerceUser.name, EcommerceUser.username)),
        pick.join(User, User.id == EcommerceUser.user_id).where(*own, contains(search, User.email)),
        by_customer).cte("matches")


def matching_ids(company_id, search, status=""):
    """The ids of the company's users matching `search` (stripped, not empty) and `status`, by name."""
    matches = _matches(company_id, search, status)
    return select(matches.c.id).order_by(matches.c.name, matches.c.id)


def users_query(company_id, search="", status=""):
    """A select of the company's e-commerce users whose name, username, email or customer (name or
    code) contains `search`, with `status` (a LinkStatus value; anything else: every status), by name.

    Setup > Users pages through the same filter; an export can take this whole.
    """
    query = select(EcommerceUser).where(EcommerceUser.company_id == company_id)
    text = (search or "").strip()
    if text:
        query = query.where(EcommerceUser.id.in_(select(_matches(company_id, text, status).c.id)))
    else:
        query = query.where(*_with_status(status))
    return query.order_by(EcommerceUser.name, EcommerceUser.id)


def _with_status(status):
    # A status that is not one of LinkStatus's values (the "All" choice, a hand-typed URL): all.
    return [EcommerceUser.status == LinkStatus(status)] if status in {s.value for s in LinkStatus} else []


def ecommerce_users_page(q="", status="", page=1):
    """A page of the current company's e-commerce users by name, in a few queries whatever the page holds.

    Unfiltered (or by status), the page walks the (company, name, id) index and stops after it,
    its count in the same query going no further than komet.pagination.COUNT_AHEAD. A search
    pages through its matches' ids first, then loads that page's rows. The page's customers follow.
    """
    company_id, text = current_company().id, q.strip()
    if text:
        found = paginate(matching_ids(company_id, text, status), page, PAGE_SIZE)
        ids = [row[0] for row in found.items]
        loaded = {account.id: (account, email) for account, email in db.session.execute(
            select(EcommerceUser, User.email).join(User, User.id == EcommerceUser.user_id)
            .where(EcommerceUser.id.in_(ids)))} if ids else {}
        pairs = [loaded[i] for i in ids if i in loaded]
    else:
        found = paginate(users_query(company_id, "", status).add_columns(User.email)
                         .join(User, User.id == EcommerceUser.user_id), page, PAGE_SIZE)
        pairs = found.items
    rows = [UserRow(account, email, []) for account, email in pairs]
    _attach_customers(rows)
    return replace(found, items=rows)


def matching(q="", status=""):
    """The ids of the current company's e-commerce users that the search and status filter keep
    (Setup > Users' CSV export: the same filter as the list)."""
    return users_query(current_company().id, q, status).with_only_columns(EcommerceUser.id)


def user_row(account, customers=None):
    """The list's row for one e-commerce user (after an edit); pass `customers` if already loaded."""
    email = db.session.scalar(select(User.email).where(User.id == account.user_id))
    row = UserRow(account, email, list(customers) if customers is not None else [])
    if customers is None:
        _attach_customers([row])
    return row


def _attach_customers(rows):
    # One query for every row's customers, so a page costs the same with 1 or 1,000 links.
    if not rows:
        return
    by_user = {row.account.user_id: row for row in rows}
    links = db.session.execute(
        select(CustomerUser.user_id, Customer).join(Customer, Customer.id == CustomerUser.customer_id)
        .where(CustomerUser.company_id == current_company().id, CustomerUser.user_id.in_(by_user))
        .order_by(Customer.name)).all()
    for user_id, customer in links:
        by_user[user_id].customers.append(customer)

