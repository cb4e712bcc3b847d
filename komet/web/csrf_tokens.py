"""This session's form token, signed once per session secret in this process.

Flask-WTF signs the session's CSRF secret afresh for every request that shows a form (an
itsdangerous serializer: a derived key, an HMAC, JSON and base64), which cost a page served
from a shell about a fifth of its CPU. The token is the secret plus a timestamp, signed; with
`WTF_CSRF_TIME_LIMIT` None the timestamp is never checked, so a token this process signed
earlier for the same secret with the same key is exactly as valid as a new one, and is reused.
With a time limit every request signs its own, as Flask-WTF does.
"""
import threading

from flask import current_app, g, session
from flask_wtf.csrf import generate_csrf

MAX_TOKENS = 4096
_lock = threading.Lock()


def form_token():
    """generate_csrf(), from this process's tokens when the session's secret was signed before."""
    config = current_app.config
    field = config["WTF_CSRF_FIELD_NAME"]
    if field in g or config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    signed = current_app.extensions.setdefault("komet.csrf_tokens", {})
    key = (session.get(field), config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key)
    token = signed.get(key) if key[0] else None
    if token is not None:
        setattr(g, field, token)  # where generate_csrf() (the templates' csrf_token()) finds it
        return token
    token = generate_csrf()
    with _lock:
        if len(signed) >= MAX_TOKENS:
            signed.clear()
        signed[(session[field], key[1])] = token
    return token
