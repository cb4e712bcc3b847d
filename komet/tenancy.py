"""Which company a request acts for, and the one scoped loader.

A logged-in person works in one *workspace* at a time: staff of a seller company (with a
role), or a buyer for one customer of a seller company. The choice lives in the session;
it is re-checked against the database on every request, so a removed link takes effect
at once.
"""
from dataclasses import dataclass
from datetime import datetime

from flask import abort, g, session
from flask_login import current_user
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.orm import joinedload

from komet import caching
from komet.clock import utcnow
from komet.connections import FastSelect
from komet.extensions import db
from komet.models import (Company, Customer, CustomerUser, EcommerceUser, LinkStatus, LoginSession, Membership, Role,
                          User)

SESSION_KEY = "workspace"


@dataclass(frozen=True)
class Workspace:
    key: str  # "staff-<membership id>" or "buyer-<customer_user id>"
    company: Company
    role: Role | None = None  # staff only
    customer: Customer | None = None  # buyers only

    @property
    def is_staff(self):
        return self.role is not None

    @property
    def label(self):
        if self.is_staff:
            return f"{self.company.name} — {self.role.label}"
        return f"{self.company.name} — {self.customer.name}"


# A customer link opens a workspace only while the login's link to that company is Active:
# Pending (not yet activated or confirmed) and Disabled (by the seller) links do not.
_ACTIVE_ACCOUNT = and_(EcommerceUser.user_id == CustomerUser.user_id, EcommerceUser.company_id == CustomerUser.company_id,
                       EcommerceUser.status == LinkStatus.ACTIVE)


def workspaces_for(user):
    """Every workspace open to `user`, staff ones first, each list by company name."""
    memberships = db.session.scalars(
        select(Membership).options(joinedload(Membership.company)).where(Membership.user_id == user.id)
    ).all()
    links = db.session.scalars(
        select(CustomerUser).join(EcommerceUser, _ACTIVE_ACCOUNT)
        .options(joinedload(CustomerUser.company), joinedload(CustomerUser.customer))
        .where(CustomerUser.user_id == user.id)
    ).all()
    staff = [Workspace(f"staff-{m.id}", m.company, role=m.role) for m in memberships]
    buyer = [Workspace(f"buyer-{c.id}", c.company, customer=c.customer) for c in links]
    by_name = lambda w: (w.company.name.lower(), w.label.lower())  # noqa: E731
    return sorted(staff, key=by_name) + sorted(buyer, key=by_name)


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The logged-in person as every request knows them: plain values, no ORM row.

    Code that changes the login loads its `users` row (`komet.accounts.passwords.login_row`).
    """
    id: int
    email: str
    name: str
    session_key: str  # the login_sessions row this device's cookies name
    seen_at: datetime  # when that row was last refreshed
    is_active: bool
    is_operator: bool
    reads_version: int  # keys the user's cached shop messages (komet.caching)

    # Flask-Login
    is_authenticated = True
    is_anonymous = False

    def get_id(self):
        return f"{self.id}:{self.session_key}"


@dataclass(frozen=True, slots=True)
class SessionCompany:
    id: int
    name: str
    slug: str
    timezone: str
    created_at: datetime
    messages_version: int  # these key the cached shop messages, history and users (komet.caching)
    history_version: int
    users_version: int


@dataclass(frozen=True, slots=True)
class SessionCustomer:
    id: int
    name: str


# The user, their session row and the workspace named in the session, in one query of plain
# columns (every request runs it; hydrating ORM entities cost more than the query). The session
# row is an inner join: a logged-out (deleted) session finds no user. Outer joins for the
# workspace: a user whose link or membership was removed still loads, with no workspace.
_USER_COLUMNS = (User.id, User.email, User.name, LoginSession.key, LoginSession.last_seen_at, User.is_active,
                 User.is_operator, User.reads_version)
_COMPANY_COLUMNS = (Company.id, Company.name, Company.slug, Company.timezone, Company.created_at,
                    Company.messages_version, Company.history_version, Company.users_version)
_SIGNED_IN = and_(LoginSession.key == bindparam("session_key"), LoginSession.user_id == User.id)
_BUYER_SESSION = (
    select(*_USER_COLUMNS, EcommerceUser.id, *_COMPANY_COLUMNS, Customer.id, Customer.name).select_from(User)
    .join(LoginSession, _SIGNED_IN)
    .outerjoin(CustomerUser, and_(CustomerUser.id == bindparam("workspace_id"), CustomerUser.user_id == User.id))
    .outerjoin(EcommerceUser, _ACTIVE_ACCOUNT)
    .outerjoin(Company, Company.id == CustomerUser.company_id)
    .outerjoin(Customer, Customer.id == CustomerUser.customer_id)
    .where(User.id == bindparam("user_id"))
)
_STAFF_SESSION = (
    select(*_USER_COLUMNS, Membership.role, *_COMPANY_COLUMNS).select_from(User)
    .join(LoginSession, _SIGNED_IN)
    .outerjoin(Membership, and_(Membership.id == bindparam("workspace_id"), Membership.user_id == User.id))
    .outerjoin(Company, Company.id == Membership.company_id)
    .where(User.id == bindparam("user_id"))
)
_USER = select(*_USER_COLUMNS).select_from(User).join(LoginSession, _SIGNED_IN).where(User.id == bindparam("user_id"))
# Run without SQLAlchemy's execution layer (komet.connections.FastSelect): plain tuples.
_BUYER_SESSION, _STAFF_SESSION, _USER = FastSelect(_BUYER_SESSION), FastSelect(_STAFF_SESSION), FastSelect(_USER)
_USER_WIDTH, _COMPANY_WIDTH = len(_USER_COLUMNS), len(_COMPANY_COLUMNS)
_TOUCH = update(LoginSession).where(LoginSession.key == bindparam("session_key")).values(last_seen_at=bindparam("now"))


def load_session(user_id, session_key, key):
    """(user, workspace) for a session: the workspace is None if `key` is not (or no longer) theirs.

    The user is a `SessionUser`, None if there is no such login or that session has ended.
    """
    kind, _, raw_id = (key or "").partition("-")
    statement = {"buyer": _BUYER_SESSION, "staff": _STAFF_SESSION}.get(kind) if raw_id.isdigit() else None
    params = {"user_id": user_id, "session_key": session_key}
    if statement is not None:
        params["workspace_id"] = int(raw_id)
    row = (statement if statement is not None else _USER).first(db.session, params)
    if row is None:
        return None, None
    user = SessionUser(*row[:_USER_WIDTH])
    if statement is None:
        return user, None
    opened, company = row[_USER_WIDTH], row[_USER_WIDTH + 1:_USER_WIDTH + 1 + _COMPANY_WIDTH]
    if opened is None:  # no such link (or not an Active one), no such membership
        return user, None
    company = SessionCompany(*company)
    if kind == "buyer":
        return user, Workspace(key, company, customer=SessionCustomer(*row[-2:]))
    return user, Workspace(key, company, role=opened)


def keep_alive(user, every, now=None):
    """Refresh the session's last-seen time if it is older than `every` (a timedelta), so an idle
    session can be forgotten while one in use never is, at one write per interval, not per request."""
    now = now or utcnow()
    if now - user.seen_at > every:
        db.session.connection().execute(_TOUCH, {"session_key": user.session_key, "now": now})
        db.session.commit()


def current_workspace():
    """The workspace this request acts in, or None (not logged in, or none chosen yet)."""
    if "workspace" not in g:  # the user loader usually set it, with the user
        key = session.get(SESSION_KEY)
        g.workspace = load_session(current_user.id, current_user.session_key, key)[1] if key and current_user.is_authenticated else None
    return g.workspace


def choose_workspace(workspace):
    session[SESSION_KEY] = workspace.key
    g.workspace = workspace
    if not workspace.is_staff:  # Setup > Users shows when each buyer last signed in to the shop
        db.session.execute(update(EcommerceUser)
                           .where(EcommerceUser.company_id == workspace.company.id,
                                  EcommerceUser.user_id == current_user.id)
                           .values(last_sign_in_at=utcnow()))
        caching.bump_users(workspace.company.id)
        db.session.commit()


def current_company():
    workspace = current_workspace()
    return workspace.company if workspace else None


def get_or_404(model, ident):
    """A row of `model` by id, only if it belongs to the current company; 404 otherwise."""
    company = current_company()
    row = None
    if company is not None:
        row = db.session.scalar(
            select(model).where(model.id == ident, model.company_id == company.id)
        )
    if row is None:
        abort(404)
    return row


def scoped(model):
    """A select of `model` limited to the current company (the start of every tenant query)."""
    return select(model).where(model.company_id == current_company().id)
