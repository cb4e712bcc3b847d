"""Signed, purpose-bound, expiring tokens for links sent by email.

A token carries the user's id and a `state` string chosen by the caller (for a password
reset, a fingerprint of the current password hash). The caller checks the state against
the row when the token comes back, so a token stops working once it has been used or the
state it was issued for has changed.
"""
import functools
import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

PASSWORD_RESET = "password-reset"


class InvalidToken(Exception):
    """The link is malformed, expired, used, or for something else."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _serializer(purpose):
    return _serializer_for(current_app.config["SECRET_KEY"], purpose)


@functools.lru_cache(maxsize=64)
def _serializer_for(secret_key, purpose):
    # Built once per key and purpose (it keeps no state between tokens): the mail worker makes
    # one token per activation email.
    return URLSafeTimedSerializer(secret_key, salt=f"komet.{purpose}")


def fingerprint(value):
    """A short digest of `value`, to bind a token to a state without revealing it."""
    return hashlib.sha256((value or "").encode()).hexdigest()[:20]


def make_token(purpose, user_id, state):
    return _serializer(purpose).dumps({"u": user_id, "s": state})


def link_token(purpose, account):
    """The activation or confirm-link token of an e-commerce user's link (`account`): bound to its
    current nonce, so only the newest email's link works. The mail worker makes it too, so it
    lives here rather than in the accounts feature."""
    return make_token(purpose, account.user_id, f"{account.id}.{fingerprint(account.activation_nonce)}")


def read_token(purpose, token, max_age):
    """(user_id, state) from a token made for `purpose`; raises InvalidToken."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidToken("expired") from None
    except BadSignature:
        raise InvalidToken("invalid") from None
    return data["u"], data["s"]
