"""What each kind of outbox email says. Rendered by the worker from fresh rows."""
import functools
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import current_app, g
from flask_mail import Message
from sqlalchemy import select

from komet import tokens
from komet.extensions import db
from komet.mail.headers import one_line
from komet.models import AccessRequest, Company, EcommerceUser, User


class Undeliverable(Exception):
    """The email can never be sent (its recipient or subject no longer exists)."""


class NothingToSend(Exception):
    """There is rightly nothing to send (a reset asked for an address with no account)."""


_KINDS = {}


def email_kind(name):
    """Register `fn(email) -> (subject, context)` as the renderer of emails of kind `name`."""

    def decorator(fn):
        _KINDS[name] = fn
        return fn

    return decorator


def external_url(endpoint, **values):
    """An absolute URL under BASE_URL; workers have no request to take the host from."""
    app = current_app._get_current_object()
    return _url_adapter(app.url_map, app.config["BASE_URL"]).build(endpoint, values, force_external=True)


@functools.lru_cache(maxsize=8)
def _url_adapter(url_map, base_url):
    # Bound once per app and BASE_URL, not once per email (binding parses and IDNA-encodes the host).
    base = urlsplit(base_url)
    return url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)


def render_message(email):
    if email.kind not in _KINDS:
        raise Undeliverable(f"unknown email kind {email.kind!r}")
    subject, context = _KINDS[email.kind](email)
    subject = one_line(subject)  # it names a business or a person, as they typed it
    # Stable across retries, so a receiver can drop a duplicate of the same outbox row.
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "komet"
    message = Message(
        subject=subject,
        recipients=[email.to_address],
        body=_render(f"emails/{email.kind}.txt", context),
        html=_render(f"emails/{email.kind}.html", {**context, "subject": subject}),
    )
    message.msgId = f"<komet-email-{email.id}@{host}>"
    return message


def _render(name, context):
    """Flask's render_template without what only a page needs: the app's context processors
    (the signed-in user's workspace; a worker has none) and the render signals. An email names
    only what its kind passes, so the text is the same; Flask's environment and its compiled
    templates (autoescaped .html, plain .txt) are the ones render_template uses. The template's
    globals are copied into a plain dict once: Jinja merges them from a ChainMap on every
    render, which was a fifth of the rendering."""
    template = current_app.jinja_env.get_template(name)
    names = _globals_of(template)
    return template.environment.concat(template.root_render_func(template.new_context({**names, **context},
                                                                                      shared=True)))


@functools.lru_cache(maxsize=64)
def _globals_of(template):
    return dict(template.globals)


@contextmanager
def prefetched(emails):
    """Read the rows a batch of emails names in a few queries (a claim's batch of 50 activation
    emails: 1 instead of 150), for the emails rendered in the block to find them by id: a dict
    lookup, where the session's get() (identity key, state checks) cost a tenth of a render."""
    g.komet_prefetched = {(type(row), row.id): row for row in _prefetch(emails)}
    try:
        yield
    finally:
        g.pop("komet_prefetched", None)


def _get(model, key):
    """db.session.get(model, key), from the rows prefetched for this batch when it is among them."""
    row = g.get("komet_prefetched", {}).get((model, key))
    return row if row is not None else db.session.get(model, key)


def _prefetch(emails):
    def ids(key):
        return {email.context.get(key) for email in emails if isinstance(email.context.get(key), int)}

    def load(model, wanted):
        return db.session.scalars(select(model).where(model.id.in_(wanted))).all() if wanted else []

    # A link's login and seller come in its account's row: one query for an activation batch.
    account_ids = ids("account_id")
    linked = db.session.execute(
        select(EcommerceUser, User, Company)
        .outerjoin(User, User.id == EcommerceUser.user_id).outerjoin(Company, Company.id == EcommerceUser.company_id)
        .where(EcommerceUser.id.in_(account_ids))
    ).all() if account_ids else []
    held = [row for rows in linked for row in rows if row is not None]
    have = {(type(row), row.id) for row in held}
    requests = load(AccessRequest, ids("request_id"))
    users = load(User, {key for key in ids("user_id") if (User, key) not in have})
    companies = load(Company, {r.company_id for r in requests if (Company, r.company_id) not in have})
    return [*held, *requests, *users, *companies]


def _user(email):
    user = _get(User, email.context.get("user_id"))
    if user is None:
        raise Undeliverable("the recipient's account no longer exists")
    return user


@email_kind("password_reset")
def password_reset(email):
    if "email" in email.context:  # asked for by address: the request did not look it up
        user = db.session.scalar(select(User).where(User.email == email.context["email"]))
        if user is None or not user.is_active:
            raise NothingToSend("no active account has this email")
    else:
        user = _user(email)
    token = tokens.make_token(tokens.PASSWORD_RESET, user.id, tokens.fingerprint(user.password_hash))
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    return "Reset your Komet password", {
        "user": user,
        "reset_url": external_url("auth.reset_password", token=token),
        "valid_minutes": minutes,
    }


@email_kind("password_changed")
def password_changed(email):
    user = _user(email)
    return "Your Komet password was changed", {
        "user": user,
        "forgot_url": external_url("auth.forgot_password"),
    }


# --- E-commerce users: activation and confirm-link emails (issue #10) ---

def _pending_link(email):
    from komet.models import Company, EcommerceUser, LinkStatus

    account = _get(EcommerceUser, email.context.get("account_id"))
    if account is None or account.status != LinkStatus.PENDING or account.activation_nonce is None:
        raise Undeliverable("the link was activated, disabled or removed before the email went out")
    return account, _get(User, account.user_id), _get(Company, account.company_id)


def _link_context(email, purpose, endpoint):
    account, user, company = _pending_link(email)
    return account, company, {
        "user": user, "account": account, "seller": company.name, "username": account.username,
        "url": external_url(endpoint, token=tokens.link_token(purpose, account)),
        "valid_days": max(1, current_app.config["ACTIVATION_MAX_AGE"] // 86400),
    }


@email_kind("activation")
def activation_email(email):
    _, company, context = _link_context(email, "activation", "auth.activate")
    return f"{company.name} invites you to buy online with Komet", context


@email_kind("link_confirm")
def link_confirm_email(email):
    _, company, context = _link_context(email, "link-confirm", "auth.confirm_link")
    return f"Confirm that you work with {company.name} on Komet", context


# --- Invites: access requests sent with Register Here (issue #11) ---

def _access_request(email):
    from komet.models import AccessRequest, Company

    request = _get(AccessRequest, email.context.get("request_id"))
    if request is None:
        raise Undeliverable("the access request no longer exists")
    return request, _get(Company, request.company_id)


@email_kind("access_request_received")
def access_request_received_email(email):
    request, company = _access_request(email)
    return f"{company.name} received your request", {"request": request, "seller": company.name}


@email_kind("access_request_staff")
def access_request_staff_email(email):
    request, company = _access_request(email)
    return f"New access request from {request.business_name}", {
        "request": request, "seller": company.name,
        "url": external_url("invites.requests", status="pending"),
    }


@email_kind("access_request_rejected")
def access_request_rejected_email(email):
    request, company = _access_request(email)
    reason = request.reason if email.context.get("include_reason") else ""
    return f"Your request to {company.name}", {"request": request, "seller": company.name, "reason": reason}


# --- Two-step verification: every change is told to the login's owner (issue #21) ---

_TWO_STEP_CHANGES = {
    "two_step_on": ("Two-step verification is on for your Komet login",
                    "Two-step verification was turned on for your Komet login {email}. From now on, logging in asks "
                    "for a code from your authenticator app."),
    "two_step_off": ("Two-step verification is off for your Komet login",
                     "Two-step verification was turned off for your Komet login {email}. Logging in now asks for "
                     "your password only."),
    "two_step_codes": ("New recovery codes for your Komet login",
                       "New recovery codes were made for your Komet login {email}; the old ones no longer work."),
}


@email_kind("two_step_changed")
def two_step_changed_email(email):
    user = _user(email)
    change = email.context.get("change")
    if change not in _TWO_STEP_CHANGES:
        raise Undeliverable(f"unknown two-step change {change!r}")
    subject, what = _TWO_STEP_CHANGES[change]
    return subject, {"user": user, "what": what.format(email=user.email),
                     "forgot_url": external_url("auth.forgot_password")}
