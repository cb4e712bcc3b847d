"""What each kind of outbox email says. Rendered by the worker from fresh rows."""
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_mail import Message

from komet import tokens
from komet.extensions import db
from komet.models import User


class Undeliverable(Exception):
    """The email can never be sent (its recipient or subject no longer exists)."""


_KINDS = {}


def email_kind(name):
    """Register `fn(email) -> (subject, context)` as the renderer of emails of kind `name`."""

    def decorator(fn):
        _KINDS[name] = fn
        return fn

    return decorator


def external_url(endpoint, **values):
    """An absolute URL under BASE_URL; workers have no request to take the host from."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def render_message(email):
    if email.kind not in _KINDS:
        raise Undeliverable(f"unknown email kind {email.kind!r}")
    subject, context = _KINDS[email.kind](email)
    message = Message(
        subject=subject,
        recipients=[email.to_address],
        body=render_template(f"emails/{email.kind}.txt", **context),
        html=render_template(f"emails/{email.kind}.html", subject=subject, **context),
    )
    # Stable across retries, so a receiver can drop a duplicate of the same outbox row.
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "komet"
    message.msgId = f"<komet-email-{email.id}@{host}>"
    return message


def _user(email):
    user = db.session.get(User, email.context.get("user_id"))
    if user is None:
        raise Undeliverable("the recipient's account no longer exists")
    return user


@email_kind("password_reset")
def password_reset(email):
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
