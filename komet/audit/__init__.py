"""The audit log: every change to e-commerce users and messages, with who and when.

`record` adds the event to the caller's transaction, so an event exists exactly when the
change it describes was committed.
"""
from flask import has_request_context
from flask_login import current_user
from sqlalchemy.orm import joinedload

from komet.extensions import db
from komet.models import AuditEvent
from komet.pagination import paginate
from komet.tenancy import current_company, scoped

PAGE_SIZE = 30
# What staff read in the log for each action.
LABELS = {
    "user_created": "Created",
    "login_linked": "Linked an existing login",
    "customers_added": "Customers added",
    "customers_removed": "Customers removed",
    "user_edited": "Details changed",
    "user_disabled": "Disabled",
    "user_enabled": "Enabled",
    "activation_resent": "Activation resent",
    "user_activated": "Activated by the buyer",
    "user_imported": "Imported",
    "import_run": "CSV import",
    "message_saved": "Message saved",
    "message_copied": "Message copied",
    "message_published": "Message published",
    "message_deleted": "Message deleted",
    "invite_regenerated": "Invite link regenerated",
    "invite_paused": "Invite requests paused",
    "invite_resumed": "Invite requests resumed",
    "request_approved": "Access request approved",
    "request_rejected": "Access request rejected",
    "two_step_on": "Two-step verification on",
    "two_step_off": "Two-step verification off",
    "two_step_codes": "New recovery codes",
    "two_step_required": "Two-step verification required",
    "two_step_not_required": "Two-step verification not required",
}
LABELS["process_forgotten"] = "Process forgotten"  # an operator's, of no company (record_platform)


def _actor_id():
    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def record(action, detail="", *, ecommerce_user_id=None, company_id=None, actor_id=None):
    """Add an event to the current transaction; company and actor default to the request's."""
    assert action in LABELS, action
    company_id = company_id or current_company().id
    event = AuditEvent(company_id=company_id, action=action, detail=detail[:2000], ecommerce_user_id=ecommerce_user_id,
                       actor_id=actor_id if actor_id is not None else _actor_id())
    db.session.add(event)
    return event


def record_platform(action, detail=""):
    """Add an event about the platform itself (an operator's action, of no company) to the
    current transaction, by the request's user."""
    assert action in LABELS, action
    event = AuditEvent(company_id=None, action=action, detail=detail[:2000], actor_id=_actor_id())
    db.session.add(event)
    return event


def company_page(page=1, ecommerce_user_id=None):
    """The current company's events, newest first (one user's, if `ecommerce_user_id` is given),
    each with who did it and the e-commerce user it concerns."""
    query = (scoped(AuditEvent).options(joinedload(AuditEvent.actor), joinedload(AuditEvent.ecommerce_user))
             .order_by(AuditEvent.id.desc()))
    if ecommerce_user_id is not None:
        query = query.where(AuditEvent.ecommerce_user_id == ecommerce_user_id)
    return paginate(query, page, PAGE_SIZE)


def label(action):
    return LABELS.get(action, action)
