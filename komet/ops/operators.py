"""Platform operators: people who run Komet itself, apart from any seller company."""
import secrets

from sqlalchemy import select

from komet.extensions import db
from komet.models import User, normalize_email


def create_operator(email, name=None, password=None):
    """Make `email` an operator (creating the user if needed); returns (user, password or None).

    A new user gets a random password, returned once, unless one is given; an existing user
    keeps theirs and only gains the operator flag.
    """
    email = normalize_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    issued = None
    if user is None:
        issued = password or secrets.token_urlsafe(16)
        user = User(email=email, name=name or email.split("@")[0])
        user.set_password(issued)
        db.session.add(user)
    user.is_operator = True
    db.session.commit()
    return user, issued


def is_operator(user):
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_operator", False))
