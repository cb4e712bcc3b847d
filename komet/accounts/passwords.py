"""Logging in, and resetting and changing passwords. Only a login's owner changes its password."""
from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from komet import tokens
from komet.accounts import sessions
from komet.mail import outbox
from komet.extensions import db
from komet.models import User, normalize_email

MIN_PASSWORD_LENGTH = 10
# Checked when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def find_user(email):
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def login_row(user):
    """The `users` row of the logged-in `user` (a request's `SessionUser` holds plain values)."""
    return db.session.get(User, user.id)


def authenticate(email, password):
    """The active user with this email and password, or None."""
    user = find_user(email)
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not user.check_password(password or "") or not user.is_active:
        return None
    return user


def password_problem(password, email=""):
    """Why `password` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if password.strip().lower() == normalize_email(email):
        return "Don't use your email address as your password."
    return None


def request_password_reset(email):
    """Queue a reset email for the typed address; the worker looks the login up and sends
    nothing if there is none. The request does the same work either way, so neither its
    answer nor its timing tells whether an address has an account."""
    address = normalize_email(email)
    outbox.queue_email("password_reset", address, email=address)
    db.session.commit()


def user_for_reset_token(token):
    """The user a reset link is for; raises InvalidToken once used, expired or tampered with."""
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    user_id, state = tokens.read_token(tokens.PASSWORD_RESET, token, max_age)
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise tokens.InvalidToken("invalid")
    if state != tokens.fingerprint(user.password_hash):
        raise tokens.InvalidToken("used")  # the password changed since the link was sent
    return user


def set_new_password(user, password):
    """Set the password, end every session of the login, and tell its owner by email."""
    user.set_password(password)
    sessions.end_all(user.id)
    outbox.queue_email("password_changed", user.email, user_id=user.id)
    db.session.commit()
