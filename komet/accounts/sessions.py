"""Signed-in devices: logging in starts a session row, logging out deletes it.

Flask-Login's user id is "<user id>:<session key>", so both the session cookie and the
"remember me" cookie name one `login_sessions` row, which every request's session check
joins (komet/tenancy.py). Deleting the row ends that device's session for good, copies of
its cookies included, and leaves the person's other devices signed in.
"""
import secrets
from datetime import timedelta

from flask import current_app, request, session
from flask_login import login_user, logout_user
from flask_login.config import COOKIE_NAME
from sqlalchemy import delete

from komet.clock import utcnow
from komet.extensions import db
from komet.models import LoginSession
from komet.models.accounts import USER_AGENT_LENGTH
from komet.web.csrf_tokens import new_secret


def log_in(user, remember=False):
    """Sign `user` in on this device with a new session row (nothing of the old cookie kept)."""
    session.clear()
    new_secret()
    _start(user, remember)


def renew(user):
    """A new session for the same person on this device, after every session of the login has
    ended (a password change): the workspace and "remember me" carry over."""
    _start(user, remember=current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) in request.cookies)


def _start(user, remember):
    user.session_key = secrets.token_urlsafe(32)
    now = utcnow()
    agent = (request.headers.get("User-Agent") or "")[:USER_AGENT_LENGTH] or None
    db.session.add(LoginSession(key=user.session_key, user_id=user.id, created_at=now, last_seen_at=now,
                                user_agent=agent))
    db.session.commit()
    login_user(user, remember=remember)


def log_out(user):
    """End this device's session and its "remember me" cookie; other devices stay signed in."""
    if user.is_authenticated and user.session_key:
        db.session.execute(delete(LoginSession).where(LoginSession.key == user.session_key))
        db.session.commit()
    logout_user()
    session.clear()


def end_all(user_id):
    """Delete every session of the login (a password change); the caller commits."""
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


def forget_idle(now=None):
    """Delete sessions unused for LOGIN_SESSION_IDLE_SECONDS (a scheduler sweep); returns how many."""
    idle = timedelta(seconds=current_app.config["LOGIN_SESSION_IDLE_SECONDS"])
    done = db.session.execute(delete(LoginSession).where(LoginSession.last_seen_at < (now or utcnow()) - idle)).rowcount
    db.session.commit()
    return done
