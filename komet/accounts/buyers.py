"""What seller staff do with e-commerce users: add, edit, disable, enable, resend activation.

Staff never set a password nor change a login's email: the login belongs to the buyer, who
may work with other companies too. A company only ever changes its own link to the login
(an EcommerceUser row) and that link's customers.
"""

from flask import abort
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from komet import audit, caching, customers as company_customers
from komet.accounts import activation
from komet.clock import utcnow
from komet.extensions import db
from komet.models import (Customer, CustomerUser, EcommerceUser, LinkStatus, User, normalize_email,
                          normalize_username)

ALREADY_HERE = ("This person is already an e-commerce user of your company. "
                "Find them in the list and use Edit to add customers.")
USERNAME_TAKEN = "Another e-commerce user of your company has this username. Choose another."


class Refused(Exception):
    """The change breaks a rule; `field` is the form field the message belongs next to."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field, self.message = field, message


class NeedsConfirmation(Exception):
    """The email already has a Komet login: staff must confirm before a link is made."""


def customers_by_ids(ids):
    """This company's customers with these ids, by name; 404 if any id is not one of them."""
    customers = company_customers.by_ids(ids)
    if len(customers) != len(set(ids)):
        abort(404)
    return customers


def account_customers(account):
    return db.session.scalars(
        select(Customer).join(CustomerUser, CustomerUser.customer_id == Customer.id)
        .where(CustomerUser.user_id == account.user_id, CustomerUser.company_id == account.company_id)
        .order_by(Customer.name)).all()


def login_for(email, name):
    """(user, created): the login with this email, created without a password if there is none.

    INSERT … ON CONFLICT DO NOTHING, then read: two companies adding the same new email at
    the same moment both end up with the one login (the second insert waits for the first).
    """
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created_id = db.session.scalar(
        insert(User.__table__).values(email=email, name=name, is_active=True,
                                      created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["email"]).returning(User.__table__.c.id))
    user = db.session.scalar(select(User).where(User.email == email))
    return user, created_id is not None


def _username_taken(company_id, username, except_id=None):
    query = select(EcommerceUser.id).where(EcommerceUser.company_id == company_id, EcommerceUser.username == username)
    if except_id is not None:
        query = query.where(EcommerceUser.id != except_id)
    return db.session.scalar(query.limit(1)) is not None


def _account_of(company_id, user_id):
    return db.session.scalar(select(EcommerceUser).where(EcommerceUser.company_id == company_id,
                                                         EcommerceUser.user_id == user_id))


def add(company_id, *, name, email, username, customers, confirmed=False, actor_id=None, action=None):
    """Add an e-commerce user in the current transaction (no commit); returns (account, created_login).

    Raises NeedsConfirmation for an existing login not `confirmed` by staff, Refused when the
    login is already this company's or the username is taken here.
    """
    name, email, username = name.strip(), normalize_email(email), normalize_username(username)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None and _account_of(company_id, user.id) is not None:
        raise Refused("email", ALREADY_HERE)
    if user is not None and not confirmed:
        raise NeedsConfirmation()
    if _username_taken(company_id, username):
        raise Refused("username", USERNAME_TAKEN)
    created = False
    if user is None:
        user, created = login_for(email, name)
    account = EcommerceUser(company_id=company_id, user_id=user.id, name=name, username=username,
                            status=LinkStatus.PENDING)
    try:
        with db.session.begin_nested():  # a colleague adding the same person or username at this moment
            db.session.add(account)
    except IntegrityError:
        raise Refused(*(("username", USERNAME_TAKEN) if _username_taken(company_id, username)
                        else ("email", ALREADY_HERE))) from None
    db.session.add_all(CustomerUser(user_id=user.id, customer_id=c.id, company_id=company_id) for c in customers)
    activation.send(account, user)
    caching.bump_users(company_id)
    action = action or ("user_created" if created else "login_linked")
    audit.record(action, f"{name} ({email}), username {username}; customers: {_names(customers)}",
                 ecommerce_user_id=account.id, company_id=company_id, actor_id=actor_id)
    return account, created


def add_ecommerce_user(company_id, **fields):
    """`add`, committed; nothing is saved if it is refused or needs confirmation."""
    try:
        result = add(company_id, **fields)
    except (Refused, NeedsConfirmation):
        db.session.rollback()
        raise
    db.session.commit()
    return result


def update(account, *, name, username, customers):
    """Change the company's name and username for the person and their customers here."""
    username = normalize_username(username)
    if _username_taken(account.company_id, username, except_id=account.id):
        raise Refused("username", USERNAME_TAKEN)
    before = {c.id: c for c in account_customers(account)}
    after = {c.id: c for c in customers}
    added = [after[i] for i in after.keys() - before.keys()]
    removed = [before[i] for i in before.keys() - after.keys()]
    if (account.name, account.username) != (name.strip(), username):
        audit.record("user_edited", f"{account.name} → {name.strip()}, username {account.username} → {username}",
                     ecommerce_user_id=account.id)
        account.name, account.username = name.strip(), username
    if removed:
        db.session.execute(delete(CustomerUser).where(
            CustomerUser.user_id == account.user_id, CustomerUser.company_id == account.company_id,
            CustomerUser.customer_id.in_([c.id for c in removed])))
        audit.record("customers_removed", _names(removed), ecommerce_user_id=account.id)
    if added:
        db.session.add_all(CustomerUser(user_id=account.user_id, customer_id=c.id, company_id=account.company_id)
                           for c in added)
        audit.record("customers_added", _names(added), ecommerce_user_id=account.id)
    caching.bump_users(account.company_id)
    try:
        db.session.commit()
    except IntegrityError:  # the username was taken by a colleague a moment ago
        db.session.rollback()
        raise Refused("username", USERNAME_TAKEN) from None


def disable(account):
    """End this company's access for the person at once (their next request has no shop)."""
    if account.status == LinkStatus.DISABLED:
        return False
    account.status = LinkStatus.DISABLED
    caching.bump_users(account.company_id)
    audit.record("user_disabled", account.name, ecommerce_user_id=account.id)
    db.session.commit()
    return True


def enable(account):
    """Give access back: Active if the buyer had activated the link, Pending otherwise."""
    if account.status != LinkStatus.DISABLED:
        return False
    account.status = LinkStatus.ACTIVE if account.activated_at else LinkStatus.PENDING
    caching.bump_users(account.company_id)
    audit.record("user_enabled", account.name, ecommerce_user_id=account.id)
    db.session.commit()
    return True


def resend_activation(account):
    """A new activation (or confirm-link) email for a Pending user; the previous link stops working."""
    if account.status != LinkStatus.PENDING:
        return False
    activation.send(account, db.session.get(User, account.user_id))
    audit.record("activation_resent", account.name, ecommerce_user_id=account.id)
    db.session.commit()
    return True


def _names(customers):
    return ", ".join(c.name for c in customers)
