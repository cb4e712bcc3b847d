"""Which company a request acts for, and the one scoped loader.

A logged-in person works in one *workspace* at a time: staff of a seller company (with a
role), or a buyer for one customer of a seller company. The choice lives in the session;
it is re-checked against the database on every request, so a removed link takes effect
at once.
"""
from dataclasses import dataclass

from flask import abort, g, session
from flask_login import current_user
from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import joinedload

from komet.extensions import db
from komet.models import Company, Customer, CustomerUser, Membership, Role, User

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


def workspaces_for(user):
    """Every workspace open to `user`, staff ones first, each list by company name."""
    memberships = db.session.scalars(
        select(Membership).options(joinedload(Membership.company)).where(Membership.user_id == user.id)
    ).all()
    links = db.session.scalars(
        select(CustomerUser)
        .options(joinedload(CustomerUser.company), joinedload(CustomerUser.customer))
        .where(CustomerUser.user_id == user.id, CustomerUser.is_active.is_(True))
    ).all()
    staff = [Workspace(f"staff-{m.id}", m.company, role=m.role) for m in memberships]
    buyer = [Workspace(f"buyer-{c.id}", c.company, customer=c.customer) for c in links]
    by_name = lambda w: (w.company.name.lower(), w.label.lower())  # noqa: E731
    return sorted(staff, key=by_name) + sorted(buyer, key=by_name)


# The user and the workspace named in the session, in one query (every request runs it).
# Outer joins: a user whose link or membership was removed still loads, with no workspace.
_BUYER_SESSION = (
    select(User, CustomerUser, Company, Customer).select_from(User)
    .outerjoin(CustomerUser, and_(CustomerUser.id == bindparam("workspace_id"), CustomerUser.user_id == User.id,
                                  CustomerUser.is_active.is_(True)))
    .outerjoin(Company, Company.id == CustomerUser.company_id)
    .outerjoin(Customer, Customer.id == CustomerUser.customer_id)
    .where(User.id == bindparam("user_id"))
)
_STAFF_SESSION = (
    select(User, Membership, Company).select_from(User)
    .outerjoin(Membership, and_(Membership.id == bindparam("workspace_id"), Membership.user_id == User.id))
    .outerjoin(Company, Company.id == Membership.company_id)
    .where(User.id == bindparam("user_id"))
)
_USER = select(User).where(User.id == bindparam("user_id"))


def load_session(user_id, key):
    """(user, workspace) for a session: the workspace is None if `key` is not (or no longer) theirs."""
    kind, _, raw_id = (key or "").partition("-")
    statement = {"buyer": _BUYER_SESSION, "staff": _STAFF_SESSION}.get(kind) if raw_id.isdigit() else None
    if statement is None:
        return db.session.scalar(_USER, {"user_id": user_id}), None
    row = db.session.execute(statement, {"user_id": user_id, "workspace_id": int(raw_id)}).first()
    if row is None:
        return None, None
    if kind == "buyer":
        user, link, company, customer = row
        return user, link and Workspace(key, company, customer=customer)
    user, membership, company = row
    return user, membership and Workspace(key, company, role=membership.role)


def current_workspace():
    """The workspace this request acts in, or None (not logged in, or none chosen yet)."""
    if "workspace" not in g:  # the user loader usually set it, with the user
        key = session.get(SESSION_KEY)
        g.workspace = load_session(current_user.id, key)[1] if key and current_user.is_authenticated else None
    return g.workspace


def choose_workspace(workspace):
    session[SESSION_KEY] = workspace.key
    g.workspace = workspace


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
