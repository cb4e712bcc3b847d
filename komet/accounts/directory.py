"""The company's e-commerce users as Setup > Users lists them."""
from dataclasses import dataclass, replace

from sqlalchemy import exists, select, union

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


def users_query(company_id, search="", status=""):
    """A select of the company's e-commerce users whose name, username, email or customer (name or
    code) contains `search`, with `status` (a LinkStatus value; anything else: every status), by name.

    Setup > Users pages through it; an export can take it whole. Each way a user can match is its
    own arm of a union, so PostgreSQL answers each from its trigram index (migration 0016) and
    reads only the users that match, instead of testing every user of the company in turn.
    """
    query = select(EcommerceUser).where(EcommerceUser.company_id == company_id)
    text = (search or "").strip()
    if text:
        in_customer = exists().where(
            CustomerUser.user_id == EcommerceUser.user_id, CustomerUser.company_id == company_id,
            Customer.id == CustomerUser.customer_id, Customer.company_id == company_id,
            contains(text, Customer.name, Customer.code))
        matched = union(
            select(EcommerceUser.id).where(EcommerceUser.company_id == company_id,
                                           contains(text, EcommerceUser.name, EcommerceUser.username)),
            select(EcommerceUser.id).join(User, User.id == EcommerceUser.user_id)
            .where(EcommerceUser.company_id == company_id, contains(text, User.email)),
            select(EcommerceUser.id).where(EcommerceUser.company_id == company_id, in_customer))
        query = query.where(EcommerceUser.id.in_(select(matched.subquery().c.id)))
    if status in {s.value for s in LinkStatus}:
        query = query.where(EcommerceUser.status == LinkStatus(status))
    return query.order_by(EcommerceUser.name, EcommerceUser.id)


def ecommerce_users_page(q="", status="", page=1):
    """A page of the current company's e-commerce users by name, in a few queries whatever the page holds.

    The paged query reads ids from the (company, name, id) index only (the count, when the page
    is full, counts no further than komet.pagination.COUNT_AHEAD); the page's rows and their
    customers follow in one query each.
    """
    query = users_query(current_company().id, q, status).with_only_columns(EcommerceUser.id)
    found = paginate(query, page, PAGE_SIZE)
    ids = [row[0] for row in found.items]
    loaded = {account.id: UserRow(account, email, []) for account, email in db.session.execute(
        select(EcommerceUser, User.email).join(User, User.id == EcommerceUser.user_id)
        .where(EcommerceUser.id.in_(ids)))} if ids else {}
    rows = [loaded[i] for i in ids if i in loaded]
    _attach_customers(rows)
    return replace(found, items=rows)


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

