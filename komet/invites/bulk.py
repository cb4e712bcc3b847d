"""Deciding many access requests at once (after a trade show, 40 in the queue).

Each request is decided in its own transaction, exactly as a single Approve or Reject would
decide it, so each is audited on its own and one that cannot be decided is skipped whole,
with the reason, never half-done. Of two colleagues deciding overlapping selections at the
same moment, the conditional update in `requests._decide` lets each request be decided once.
"""
from dataclasses import dataclass

from sqlalchemy import select

from komet.accounts import buyers
from komet.extensions import db
from komet.invites import lookalikes, requests
from komet.models import AccessRequest, RequestStatus, User

# Bounds the work of one POST: a page of the queue, with room to spare.
MAX_SELECTED = 100
NEEDS_CONFIRMATION = ("This email already has a Komet login: approve this request on its own to confirm "
                      "linking it to your company.")


class Skipped(Exception):
    """The request is left Pending, for the reason given."""


@dataclass(frozen=True)
class Result:
    """What happened to one selected request, as the summary says it."""
    business_name: str
    email: str
    decided: bool
    detail: str


def selected(company_id, ids):
    """The company's requests among `ids`, oldest first; None if any id is not one of them."""
    ids = set(ids)
    found = db.session.scalars(select(AccessRequest).where(AccessRequest.company_id == company_id,
                                                           AccessRequest.id.in_(ids))
                               .order_by(AccessRequest.id)).all() if ids else []
    return found if len(found) == len(ids) else None


def _decided_already(request):
    who = db.session.scalar(select(User.name).where(User.id == request.decided_by_id)) if request.decided_by_id else None
    return f"Skipped: already {request.status.value} by {who or 'a colleague'}."


def _one(request, decide):
    """(decided, what happened) for one request."""
    if request.status != RequestStatus.PENDING:
        return False, _decided_already(request)
    try:
        return True, decide(request)
    except requests.AlreadyDecided:  # a colleague, since the page was loaded
        db.session.refresh(request)
        return False, _decided_already(request)
    except buyers.NeedsConfirmation:
        return False, "Skipped: " + NEEDS_CONFIRMATION
    except buyers.Refused as refused:
        return False, "Skipped: " + refused.message
    except Skipped as skipped:
        return False, str(skipped)


def _each(chosen, decide):
    results = []
    for request in chosen:
        name, email = request.business_name, request.email  # as shown, before a commit expires them
        results.append(Result(name, email, *_one(request, decide)))
    return results


def approve_many(chosen, actor_id=None):
    """Approve each request into a new customer named from its business name; [Result]."""
    def approve(request):
        resembled = lookalikes.match(request.company_id, request)
        if resembled is not None:  # a second customer for the same company is a mistake to undo by hand
            raise Skipped(f"Skipped: its business name resembles your customer {resembled[1]}. Approve it on its "
                          "own, or use Link to this customer.")
        # Not `confirmed`: linking a login that exists elsewhere is a choice staff make one by one.
        requests.approve(request, new_customer_name=request.business_name, actor_id=actor_id, confirmed=False)
        return f"Approved into new customer {request.business_name}."
    return _each(chosen, approve)


def reject_many(chosen, *, reason="", include_reason=False, actor_id=None):
    """Reject each request with one reason (emailed only if `include_reason`); [Result]."""
    def reject(request):
        requests.reject(request, reason=reason, include_reason=include_reason, actor_id=actor_id)
        return "Rejected; the reason was included in the email." if include_reason and reason.strip() \
            else "Rejected."
    return _each(chosen, reject)
