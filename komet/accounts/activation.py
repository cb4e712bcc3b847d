"""Activation and confirm-link emails, and the tokens in them.

A token names the login and, in its signed state, the EcommerceUser row (the link to one
company) with a fingerprint of that row's current nonce. It is purpose-bound and expires
(ACTIVATION_MAX_AGE); it works once (activating clears the nonce) and only for the newest
email (resending changes the nonce); a token for company A names A's row, so it can never
activate company B.
"""
import secrets

from flask import current_app
from sqlalchemy import select

from komet import audit, caching, tokens
from komet.clock import utcnow
from komet.extensions import db
from komet.mail import outbox
from komet.models import EcommerceUser, LinkStatus, User, normalize_email

ACTIVATION = "activation"  # a new login: the buyer sets a password
LINK_CONFIRM = "link-confirm"  # an existing login: one click to work with another company
EMAIL_KINDS = {ACTIVATION: "activation", LINK_CONFIRM: "link_confirm"}


def purpose_for(user):
    """A login without a password is activated; one with a password confirms the new link."""
    return ACTIVATION if user.password_hash is None else LINK_CONFIRM


def send(account, user):
    """Give `account` a new nonce (the older link stops working) and queue its email."""
    account.activation_nonce = secrets.token_hex(16)
    account.activation_sent_at = utcnow()
    return outbox.queue_email(EMAIL_KINDS[purpose_for(user)], user.email, company_id=account.company_id,
                              account_id=account.id)


make_token = tokens.link_token


def account_for_token(purpose, token):
    """The Pending link a token activates; raises InvalidToken if expired, used, superseded or forged."""
    user_id, state = tokens.read_token(purpose, token, current_app.config["ACTIVATION_MAX_AGE"])
    raw_id, _, fingerprint = str(state).partition(".")
    account = db.session.get(EcommerceUser, int(raw_id)) if raw_id.isdigit() else None
    if account is None or account.user_id != user_id:
        raise tokens.InvalidToken("invalid")
    if (account.status != LinkStatus.PENDING or account.activation_nonce is None
            or fingerprint != tokens.fingerprint(account.activation_nonce)):
        raise tokens.InvalidToken("used")
    return account


def activate(account, password=None):
    """Make the link Active (setting the login's first password, if given) and commit."""
    user = db.session.get(User, account.user_id)
    if password is not None:
        user.set_password(password)
    account.status = LinkStatus.ACTIVE
    account.activation_nonce = None
    account.activated_at = utcnow()
    caching.bump_users(account.company_id)
    audit.record("user_activated", "", ecommerce_user_id=account.id, company_id=account.company_id,
                 actor_id=user.id)
    db.session.commit()
    return user


def resend_for_email(email):
    """Send new links for every Pending link of this login. Says nothing either way."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is not None and user.is_active:
        pending = db.session.scalars(select(EcommerceUser).where(EcommerceUser.user_id == user.id,
                                                                 EcommerceUser.status == LinkStatus.PENDING))
        for account in pending:
            send(account, user)
    db.session.commit()
