"""Access requests: what a visitor sends with Register Here, and staff's decision on it."""
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from komet import audit, caching
from komet.accounts import buyers
from komet.clock import utcnow
from komet.extensions import db
from komet.mail.outbox import queue_email, queue_emails
from komet.models import (AccessRequest, Customer, EcommerceUser, Email, Membership, RequestStatus, User,
                          normalize_email)
from komet.pagination import paginate
from komet.permissions import Permission, roles_with
from komet.tenancy import scoped

PAGE_SIZE = 25
FIELDS = ("business_name", "contact_name", "email", "phone", "city", "country", "message")


def submit(company_id, **fields):
    """(request, created): a new Pending request, its confirmation email and one email to each
    Admin and Sales Manager; or the Pending request already sent with this email (nothing new).

    A constant number of statements whatever the number of staff: the public form is the
    one place strangers can make the app work.
    """
    email = normalize_email(fields["email"])
    existing = _pending_with(company_id, email)
    if existing is not None:
        return existing, False
    values = {name: (fields.get(name) or "").strip() for name in FIELDS}
    request = AccessRequest(company_id=company_id, **{**values, "email": email}, status=RequestStatus.PENDING)
    try:
        # The same email sent twice at the same moment (a double click, two tabs): both found
        # nothing pending above, and the partial unique index lets one insert through.
        with db.session.begin_nested():
            db.session.add(request)
    except IntegrityError:
        existing = _pending_with(company_id, email)
        if existing is None:  # some other constraint: not a duplicate, a real error
            raise
        return existing, False
    queue_email("access_request_received", email, company_id, request_id=request.id)
    queue_emails("access_request_staff", staff_to_tell(company_id), company_id, request_id=request.id)
    db.session.commit()
    return request, True


def _pending_with(company_id, email):
    return db.session.scalar(select(AccessRequest).where(
        AccessRequest.company_id == company_id, AccessRequest.email == email,
        AccessRequest.status == RequestStatus.PENDING).limit(1))


def staff_to_tell(company_id):
    """The emails of the company's staff who may decide on requests (Admins, Sales Managers)."""
    return db.session.scalars(
        select(User.email).join(Membership, Membership.user_id == User.id)
        .where(Membership.company_id == company_id, Membership.role.in_(roles_with(Permission.MANAGE_INVITES)),
               User.is_active.is_(True)).order_by(User.email)).all()


def counts(company_id):
    """{status: number of requests} for the company, every status present."""
    rows = db.session.execute(select(AccessRequest.status, func.count()).where(AccessRequest.company_id == company_id)
                              .group_by(AccessRequest.status)).all()
    found = dict(rows)
    return {status: found.get(status, 0) for status in RequestStatus}


def queue_page(status, page=1):
    """The current company's requests of one status, newest first."""
    query = scoped(AccessRequest).where(AccessRequest.status == status).order_by(AccessRequest.id.desc())
    return paginate(query, page, PAGE_SIZE)


def warnings(requests, company_id):
    """{request id: [warning, ...]} for a page of requests, in two queries."""
    emails = {r.email for r in requests}
    if not emails:
        return {}
    linked = set(db.session.scalars(
        select(User.email).join(EcommerceUser, EcommerceUser.user_id == User.id)
        .where(EcommerceUser.company_id == company_id, User.email.in_(emails))).all())
    pending = dict(db.session.execute(
        select(AccessRequest.email, func.count()).where(
            AccessRequest.company_id == company_id, AccessRequest.email.in_(emails),
            AccessRequest.status == RequestStatus.PENDING).group_by(AccessRequest.email)).all())
    result = {}
    for r in requests:
        found = []
        if r.email in linked:
            found.append("This email already has a login linked to your company.")
        if pending.get(r.email, 0) - (r.status == RequestStatus.PENDING) > 0:
            found.append("Another request with this email is already pending.")
        result[r.id] = found
    return result


class AlreadyDecided(Exception):
    """A colleague decided on the request first."""


def _decide(request, status, actor_id):
    # A conditional update: of two colleagues deciding at once, the second finds nothing to claim.
    claimed = db.session.execute(
        update(AccessRequest).where(AccessRequest.id == request.id, AccessRequest.status == RequestStatus.PENDING)
        .values(status=status, decided_by_id=actor_id, decided_at=utcnow())).rowcount
    if not claimed:
        db.session.rollback()
        raise AlreadyDecided()


def approve(request, *, customer=None, new_customer_name=None, actor_id=None):
    """Approve into a new customer (`new_customer_name`) or an existing one (`customer`), and
    create or link the buyer login by the E-commerce users rules (activation or confirm-link
    email). Raises buyers.Refused (nothing saved) when those rules refuse."""
    _decide(request, RequestStatus.APPROVED, actor_id)
    try:
        if customer is None:
            customer = Customer(company_id=request.company_id, name=new_customer_name.strip())
            db.session.add(customer)
            db.session.flush()
            caching.bump_history(request.company_id)  # History's "of N customers" grows
        buyers.add(request.company_id, name=request.contact_name, email=request.email, username=request.email,
                   customers=[customer], confirmed=True, actor_id=actor_id)
    except buyers.Refused:
        db.session.rollback()
        raise
    request.customer_id = customer.id
    audit.record("request_approved", f"{request.business_name} ({request.email}) → customer {customer.name}",
                 company_id=request.company_id, actor_id=actor_id)
    db.session.commit()


def reject(request, *, reason="", include_reason=False, actor_id=None):
    """Reject; the requester gets a polite email, with the reason only if staff said so."""
    _decide(request, RequestStatus.REJECTED, actor_id)
    request.reason = (reason or "").strip()
    queue_email("access_request_rejected", request.email, request.company_id, request_id=request.id,
                include_reason=bool(include_reason and request.reason))
    audit.record("request_rejected", f"{request.business_name} ({request.email})"
                 + (f": {request.reason}" if request.reason else ""), company_id=request.company_id,
                 actor_id=actor_id)
    db.session.commit()


def save_notes(request, notes):
    request.internal_notes = (notes or "").strip()
    db.session.commit()


KINDS = ("access_request_received", "access_request_staff", "access_request_rejected")


def emails_of(page_requests, company_id):
    """{request id: [its outbox emails]} for a page of requests, in one query: staff see each
    email's state (queued, sent, failed) so a request is never lost in email."""
    ids = [r.id for r in page_requests]
    if not ids:
        return {}
    found = db.session.scalars(select(Email).where(
        Email.company_id == company_id, Email.kind.in_(KINDS),
        Email.context["request_id"].as_integer().in_(ids)).order_by(Email.id)).all()
    result = {}
    for email in found:
        result.setdefault(email.context["request_id"], []).append(email)
    return result


def email_of(access, email_id):
    """One outbox email this request caused, or None."""
    email = db.session.get(Email, email_id)
    if email is None or email.company_id != access.company_id or email.kind not in KINDS \
            or email.context.get("request_id") != access.id:
        return None
    return email
