"""The session's form token: Flask-WTF's `generate_csrf()`, made faster, the same token.

The token is the session's CSRF secret plus a timestamp, signed. Flask-WTF builds an
itsdangerous serializer for every request that shows a form (a derived key, an HMAC, JSON,
base64) and zlib-compresses the payload to see whether it is shorter: for its own 40-hex-digit
secret it never is (44+ bytes against 42), yet that attempt was most of the token's cost. Here
the signer is kept and the payload is the plain one itsdangerous would have chosen. With
`WTF_CSRF_TIME_LIMIT` None the timestamp is never checked, so a token this process signed
earlier for the same secret with the same key is exactly as valid as a new one, and is reused.
Any other secret, or a time limit, goes to Flask-WTF itself.
"""
import hashlib
import os
import threading

from flask import current_app, g, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

# What Flask-WTF makes (sha1(urandom).hexdigest()), as the session cookie keeps it.
from komet.web.session_cookie import _SECRET

MAX_TOKENS = 4096
_lock = threading.Lock()
_signers = {}  # signing key -> Flask-WTF's token signer


def form_token():
    """generate_csrf(): the same token, kept in `g` the same way, the secret made when there is none."""
    app = current_app._get_current_object()  # once: each use of the proxy costs a lookup
    config = app.config
    field = config["WTF_CSRF_FIELD_NAME"]
    if (token := g.get(field)) is not None:
        return token
    key = config.get("WTF_CSRF_SECRET_KEY", app.secret_key)
    if not key or config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    data = session._get_current_object()
    if (secret := data.get(field)) is None:  # made now and signed, not kept: most such visitors never return
        secret = data[field] = hashlib.sha1(os.urandom(64)).hexdigest()
        token = _sign(key, secret)
    elif isinstance(secret, str) and _SECRET.fullmatch(secret):
        token = _kept(app, key, secret)
    else:
        return generate_csrf()
    setattr(g, field, token)  # where generate_csrf() (the templates' csrf_token()) finds it
    return token


def new_secret():
    """Give the session a CSRF secret of its own now, dropping any token of an earlier one.

    Called when a session starts (sign-in clears the cookie): every page after it then carries
    this secret, so two first requests that overlap (a redirect the browser is still following
    while another tab or link loads) cannot each make one and leave whichever cookie came last
    disagreeing with the other page's forms."""
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    session[field] = hashlib.sha1(os.urandom(64)).hexdigest()
    g.pop(field, None)


def _kept(app, key, secret):
    """The token this process signed for `secret` with `key`, signed now the first time."""
    signed = app.extensions.setdefault("komet.csrf_tokens", {})
    if (token := signed.get((secret, key))) is None:
        token = _sign(key, secret)
        with _lock:
            if len(signed) >= MAX_TOKENS:
                signed.clear()
            signed[(secret, key)] = token
    return token


def _sign(key, secret):
    """URLSafeTimedSerializer(key, salt="wtf-csrf-token").dumps(secret), as Flask-WTF makes it."""
    if (signer := _signers.get(key)) is None:
        signer = _signers[key] = URLSafeTimedSerializer(key, salt="wtf-csrf-token").make_signer()
    return signer.sign(base64_encode(f'"{secret}"'.encode())).decode()
