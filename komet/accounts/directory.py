"""The company's e-commerce users as Setup > Users lists them."""
from dataclasses import dataclass

from sqlalchemy import exists, or_, select

from komet.search import contains
from komet.extensions import db
from komet.models import Customer, CustomerUser, EcommerceUser, LinkStatus, User
from komet.pagination import Page, paginate
from komet.tenancy import current_company, scoped

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


def ecommerce_users_page(q="", status="", page=1):
    """A page of the current company's e-commerce users by name, in three queries whatever the page holds.

    The counted, paged query reads ids from the (company, name, id) index only; with 50,000
    users its window count is the page's main cost, so nothing wider rides along. The page's
    rows and their customers follow in one query each.
    """
    query = matching(q, status)
    found = paginate(query.order_by(EcommerceUser.name, EcommerceUser.id), page, PAGE_SIZE)
    ids = [row[0] for row in found.items]
    loaded = {account.id: UserRow(account, email, []) for account, email in db.session.execute(
        select(EcommerceUser, User.email).join(User, User.id == EcommerceUser.user_id)
        .where(EcommerceUser.id.in_(ids)))} if ids else {}
    rows = [loaded[i] for i in ids if i in loaded]
    _attach_customers(rows)
    return Page(rows, found.page, found.per_page, found.total)


def matching(q="", status=""):
    """The ids of the current company's e-commerce users that the search and status filter keep
    (Setup > Users' list and its CSV export)."""
    query = scoped(EcommerceUser).with_only_columns(EcommerceUser.id)
    if q.strip():
        text = q.strip()
        in_customer = exists().where(
            CustomerUser.user_id == EcommerceUser.user_id, CustomerUser.company_id == EcommerceUser.company_id,
            Customer.id == CustomerUser.customer_id, contains(text, Customer.name, Customer.code))
        query = query.join(User, User.id == EcommerceUser.user_id).where(or_(
            contains(text, EcommerceUser.name, User.email, EcommerceUser.username), in_customer))
    if status in {s.value for s in LinkStatus}:
        query = query.where(EcommerceUser.status == LinkStatus(status))
    return query


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

