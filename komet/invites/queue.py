"""The access-request queue as staff read it: tabs and counts, a page of requests, what each
request warns about, how each decided one turned out, and the emails each one caused."""
from dataclasses import dataclass

from sqlalchemy import func, select

from komet.extensions import db
from komet.invites import lookalikes
from komet.models import AccessRequest, Customer, EcommerceUser, Email, RequestStatus, User
from komet.pagination import paginate
from komet.tenancy import scoped

PAGE_SIZE = 25
# Every email an access request causes: the visitor's confirmation, the staff notice, the
# rejection, and the approval's activation (a new login) or confirm-link (an existing one).
KINDS = ("access_request_received", "access_request_staff", "access_request_rejected", "activation", "link_confirm")
LINKED_HERE = "This email already has a login linked to your company."
ANOTHER_PENDING = "Another request with this email is already pending."


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


def annotations(requests, company_id):
    """What the queue shows around a page of requests: the tabs' counts, and per request its
    warnings, the customer a pending one resembles, its outcome once decided, and its emails."""
    pending = [r for r in requests if r.status == RequestStatus.PENDING]
    return {"counts": counts(company_id), "warnings": warnings(requests, company_id),
            "lookalikes": lookalikes.matches(company_id, pending), "outcomes": outcomes(requests),
            "emails": emails_of(requests, company_id)}


def warnings(requests, company_id):
    """{request id: [warning, ...]} for a page of requests, in two queries.

    A decided request is not warned that its email has a login here: its approval made that
    login, and its outcome says so."""
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
        is_pending = r.status == RequestStatus.PENDING
        if is_pending and r.email in linked:
            found.append(LINKED_HERE)
        if pending.get(r.email, 0) - is_pending > 0:
            found.append(ANOTHER_PENDING)
        result[r.id] = found
    return result


@dataclass(frozen=True)
class Outcome:
    """How a decided request turned out, in the words staff read on its card."""
    customer: str | None  # the customer it was approved into
    decided_by: str | None  # None if that login no longer exists


def outcomes(requests):
    """{request id: Outcome} for the decided requests of a page, in one query."""
    decided = [r.id for r in requests if r.status != RequestStatus.PENDING]
    if not decided:
        return {}
    rows = db.session.execute(
        select(AccessRequest.id, Customer.name, User.name).select_from(AccessRequest)
        .outerjoin(Customer, Customer.id == AccessRequest.customer_id)
        .outerjoin(User, User.id == AccessRequest.decided_by_id)
        .where(AccessRequest.id.in_(decided))).all()
    return {request_id: Outcome(customer, decider) for request_id, customer, decider in rows}


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
