"""Anonymous pages rendered once per process and served many times.

A page a visitor opens without logging in (a seller's invite page) is the same HTML for every
visitor except two values: the CSP nonce and the form's CSRF token. Rendering it (the layout,
WTForms' widgets, a dozen `url_for` and `static_url` calls) cost more than the rest of the
request together; here it is rendered once with a marker in place of each of those two values,
kept under a key that holds every value the page shows, and each response gets its own nonce
and token put in with two `str.replace`. Both values are URL-safe base64 (and dots), which
HTML escaping leaves as they are: the result is byte for byte what the template would render.

Only for a visitor whose session holds nothing of their own (no login, no flash message, no
"remember me" cookie to turn into a login): anyone else gets the template rendered as usual,
so nothing about one person can reach another's page. The key is the caller's: it must hold
every value the page renders (a value left out would serve a stale page after it changed).
"""
import hashlib
import os
import secrets

from flask import current_app, g, render_template, request, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

from komet.web.security import csp_nonce
# A session holding only these is an anonymous visitor's; a secret Flask-WTF made matches _SECRET.
from komet.web.session_cookie import _ANONYMOUS_KEYS, _SECRET

_SIZE = 1024  # pages per process; past it the cache starts again (a page is a few KB)
_signers = {}  # secret key -> Flask-WTF's token signer


def render(key, template, context):
    """`template` rendered with `context()` (called only when it is rendered), from this app's
    copy when `key` was seen before, with this response's nonce and CSRF token."""
    shells = current_app.extensions.get("komet.page_shells")
    if shells is None:  # one per app: pages hold the app's asset names and configured URLs
        shells = current_app.extensions["komet.page_shells"] = PageShells()
    return shells.render(key, template, context)


class PageShells:
    def __init__(self, size=_SIZE):
        self.size = size
        self._pages = {}  # key -> (html with markers, has nonce, has token)
        # Random per process: no seller's name or other text can contain them by chance or on purpose.
        self._nonce_mark, self._token_mark = f"n{secrets.token_hex(16)}", f"t{secrets.token_hex(16)}"

    def render(self, key, template, context):
        if not _anonymous():
            return render_template(template, **context())
        page = self._pages.get((template, key))
        if page is None:
            if len(self._pages) >= self.size:
                self._pages.clear()
            page = self._pages[(template, key)] = self._shell(template, context)
        html, has_nonce, has_token = page
        if has_nonce:
            html = html.replace(self._nonce_mark, csp_nonce())
        if has_token:  # creates the visitor's CSRF secret (and cookie) as the template would have
            html = html.replace(self._token_mark, csrf_token())
        return html

    def _shell(self, template, context):
        field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        # Flask-WTF and csp_nonce() keep the request's value in `g`: a marker there is what every
        # widget, macro and csrf_token() call renders.
        saved = {name: g.__dict__.pop(name) for name in ("csp_nonce", field) if name in g}
        g.csp_nonce, g.__dict__[field] = self._nonce_mark, self._token_mark
        try:
            html = render_template(template, **context())  # the form is made here, with the marker
        finally:
            g.pop("csp_nonce", None)
            g.pop(field, None)
            g.__dict__.update(saved)
        return html, self._nonce_mark in html, self._token_mark in html


def _anonymous():
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return session.keys() <= _ANONYMOUS_KEYS and remember not in request.cookies


def csrf_token():
    """Flask-WTF's `generate_csrf()`: the same token (the session's secret, signed and timed with
    the same key and salt), the same secret created when there is none, kept in `g` the same way.

    Flask-WTF builds a serializer per call, and itsdangerous zlib-compresses every payload to see
    whether it is shorter: for Flask-WTF's 40-hex-digit secret it never is (44+ bytes against 42),
    yet it was most of the token's cost. Here the signer is kept and the payload is the plain one
    itsdangerous would have chosen; any other secret goes to Flask-WTF itself.
    """
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field in g:
        return g.get(field)
    if field not in session:
        session[field] = hashlib.sha1(os.urandom(64)).hexdigest()
    secret = session[field]
    if not (isinstance(secret, str) and _SECRET.fullmatch(secret)):
        return generate_csrf()
    key = config.get("WTF_CSRF_SECRET_KEY", current_app.secret_key)
    if (signer := _signers.get(key)) is None:
        signer = _signers[key] = URLSafeTimedSerializer(key, salt="wtf-csrf-token").make_signer()
    token = signer.sign(base64_encode(f'"{secret}"'.encode())).decode()
    setattr(g, field, token)
    return token
