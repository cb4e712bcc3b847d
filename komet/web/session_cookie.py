"""The session cookie, and where an anonymous visitor's CSRF secret lives.

A visitor who is not logged in (the login page, a seller's invite page, Register Here) needs a
CSRF token for the form, and nothing else. Flask-WTF keeps the token's random secret in the
session, so every such page used to create, serialise and sign a session cookie just to render
a form. Here a session that holds nothing but that secret (and Flask-Login's `_fresh` flag,
meaningless without a login) is not written as a session: its secret goes in a cookie of its
own, unsigned, HttpOnly, SameSite like the session, `__Host-` prefixed (Secure, this host only,
path /) wherever the session cookie is Secure. On the next request the secret comes back as
the session's `csrf_token`, so Flask-WTF works unchanged: the form's token is the secret signed
with the app's key, and a POST passes only if its token unsigns to the secret in the cookie
the browser sent (a signed double-submit cookie). Another site can neither read the cookie nor
sign a secret; a visitor's token is worthless with another visitor's cookie; and the `__Host-`
prefix stops a sibling subdomain from planting a cookie of its own choosing.

Once anything else is in the session (a login, a flash message, a chosen workspace) it is the
usual signed session cookie, with the CSRF secret inside it, as before.

Opening a signed session cookie (base64, zlib, an HMAC and JSON) is also the largest fixed cost
of a logged-in request after its query: a cookie already verified by this process is taken
from a small cache keyed by its exact value (its signature and age are what was checked; the
age is checked again), when every value in it is a plain scalar that no request can mutate.

Writing it back is the other fixed cost: the session is permanent and refreshed on every
request (Flask's default), so every response re-serialises and re-signs it. The serializer is
built once per set of keys (Flask builds one per call), its HMAC keys are derived once (not per
signature), and the payload (JSON, zlib, base64) of session data it has written before is
reused: only the timestamp and the signature are new, and the cookie is byte for byte the one
Flask would write.
"""
import re
import time

from flask import request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

CSRF_KEY = "csrf_token"  # Flask-WTF's session key (WTF_CSRF_FIELD_NAME)
_ANONYMOUS_KEYS = frozenset({CSRF_KEY, "_fresh"})
_SECRET = re.compile(r"[0-9a-f]{40}")  # what Flask-WTF makes: sha1(urandom).hexdigest()
_SCALARS = (str, int, float, bool, type(None))
_CACHE_SIZE = 4096


def _scalar_key(data):
    """A hashable key that tells apart any two dicts of scalars that serialise differently, or None."""
    if not isinstance(data, dict) or not all(isinstance(v, _SCALARS) for v in data.values()):
        return None
    return tuple((k, type(v), v) for k, v in data.items())  # type: True == 1, but not in JSON


class _Signer(TimestampSigner):
    def derive_key(self, secret_key=None):
        # A pure function of the key and the salt, which itsdangerous recomputes per signature.
        cache = self.__dict__.setdefault("_derived", {})
        if secret_key not in cache:
            cache[secret_key] = super().derive_key(secret_key)
        return cache[secret_key]


class _Serializer(URLSafeTimedSerializer):
    default_signer = _Signer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._signers = {}  # salt -> signer (stateless but for its derived keys)
        self._payloads = {}  # _scalar_key(data) -> payload

    def make_signer(self, salt=None):
        if (signer := self._signers.get(salt)) is None:
            signer = self._signers[salt] = super().make_signer(salt)
        return signer

    def dump_payload(self, obj):
        key = _scalar_key(obj)
        if key is None:
            return super().dump_payload(obj)
        if (payload := self._payloads.get(key)) is None:
            if len(self._payloads) >= _CACHE_SIZE:
                self._payloads.clear()
            payload = self._payloads[key] = super().dump_payload(obj)
        return payload


class SessionCookies(SecureCookieSessionInterface):
    def __init__(self):
        self._verified = {}  # cookie value -> (data, signed at)
        self._serializer = (None, None)  # (the keys it signs with, the serializer)

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)  # as Flask orders them
        if self._serializer[0] != keys:
            self._serializer = (keys, _Serializer(list(keys), salt=self.salt, serializer=self.serializer, signer_kwargs={
                "key_derivation": self.key_derivation, "digest_method": self.digest_method}))
        return self._serializer[1]

    def csrf_cookie_name(self, app):
        return ("__Host-" if self.get_cookie_secure(app) else "") + "komet_csrf"

    def open_session(self, app, request):
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            secret = request.cookies.get(self.csrf_cookie_name(app), "")
            return self.session_class({CSRF_KEY: secret} if _SECRET.fullmatch(secret) else {})
        max_age = app.permanent_session_lifetime.total_seconds()
        if (cached := self._verified.get(value)) is not None and 0 <= time.time() - cached[1] <= max_age:
            return self.session_class(cached[0])
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        try:
            data, signed_at = serializer.loads(value, max_age=int(max_age), return_timestamp=True)
        except BadSignature:  # expired or tampered with: no session, as Flask's own interface does
            return self.session_class()
        if _scalar_key(data) is not None:
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.clear()
            self._verified[value] = (data, signed_at.timestamp())
        return self.session_class(data)

    def save_session(self, app, session, response):
        if not session or session.get("_fresh") or not session.keys() <= _ANONYMOUS_KEYS:
            return super().save_session(app, session, response)
        # Only the CSRF secret: the visitor is anonymous.
        if session.accessed:
            response.vary.add("Cookie")
        secure, samesite = self.get_cookie_secure(app), self.get_cookie_samesite(app)
        if request.cookies.get(self.get_cookie_name(app)):  # the session this was (a logout): gone
            response.delete_cookie(self.get_cookie_name(app), domain=self.get_cookie_domain(app),
                                   path=self.get_cookie_path(app), secure=secure, samesite=samesite,
                                   httponly=self.get_cookie_httponly(app))
        secret, name = session.get(CSRF_KEY), self.csrf_cookie_name(app)
        if secret and request.cookies.get(name) != secret:
            response.set_cookie(name, secret, path="/", secure=secure, httponly=True, samesite=samesite)
