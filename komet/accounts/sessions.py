"""Signed-in devices: logging in starts a session row, logging out deletes it.

Flask-Login's user id is "<user id>:<session key>", so both the session cookie and the
"remember me" cookie name one `login_sessions` row, which every request's session check
joins (komet/tenancy.py). Deleting the row ends that device's session for good, copies of
its cookies included, and leaves the person's other devices signed in.
"""
import secrets
from datetime import timedelta

from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy import delete

from komet.clock import utcnow
from komet.extensions import db
from komet.models import LoginSession


def log_in(user, remember=False, keep_session=False):
    """Sign `user` in on this device with a new session row. The cookie starts empty, unless
    `keep_session` (the same person goes on, e.g. in their workspace, after a password change)."""
    user.session_key = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(LoginSession(key=user.session_key, user_id=user.id, created_at=now, last_seen_at=now))
    db.session.commit()
    if not keep_session:
        session.clear()
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
