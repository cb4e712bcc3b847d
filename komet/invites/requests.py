"""Access requests: what a visitor sends with Register Here, and staff's decision on it."""
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from komet import audit, caching
from komet.accounts import activation, buyers
from komet.clock import utcnow
from komet.extensions import db
from komet.mail.outbox import queue_email, queue_emails
from komet.models import AccessRequest, Customer, Email, Membership, RequestStatus, User, normalize_email
from komet.permissions import Permission, roles_with

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


def approve(request, *, customer=None, new_customer_name=None, actor_id=None, confirmed=True):
    """Approve into a new customer (`new_customer_name`) or an existing one (`customer`), and
    create or link the buyer login by the E-commerce users rules (activation or confirm-link
    email). Raises buyers.Refused, or buyers.NeedsConfirmation when not `confirmed` and the
    email has a Komet login already; nothing is saved then."""
    _decide(request, RequestStatus.APPROVED, actor_id)
    try:
        if customer is None:
            customer = Customer(company_id=request.company_id, name=new_customer_name.strip())
            db.session.add(customer)
            db.session.flush()
            caching.bump_history(request.company_id)  # History's "of N customers" grows
        account, _ = buyers.add(request.company_id, name=request.contact_name, email=request.email,
                                username=request.email, customers=[customer], confirmed=confirmed, actor_id=actor_id)
    except (buyers.Refused, buyers.NeedsConfirmation):
        db.session.rollback()
        raise
    request.customer_id = customer.id
    _tag_approval_email(request, account)
    audit.record("request_approved", f"{request.business_name} ({request.email}) → customer {customer.name}",
                 company_id=request.company_id, actor_id=actor_id)
    db.session.commit()


def _tag_approval_email(request, account):
    # The activation (or confirm-link) email is the accounts feature's; naming the request in
    # its context lets the queue show its state to a Sales Manager, who cannot open Setup > Emails.
    email = db.session.scalar(select(Email).where(
        Email.company_id == request.company_id, Email.kind.in_(tuple(activation.EMAIL_KINDS.values())),
        Email.context["account_id"].as_integer() == account.id).order_by(Email.id.desc()).limit(1))
    if email is not None:
        email.context = {**email.context, "request_id": request.id}


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
