"""Pages served from a pre-rendered shell.

Jinja drawing a page again for every request (the layout, the account menu, the Setup
navigation, the asset links under their hashed names, WTForms' widgets, the page's own
headings) cost a page more than its queries. A shell is the whole page rendered once, with
markers where each request's own parts go: the CSP nonce, the form token, the flashed messages,
and the page's slots (regions cached under their own versions, or drawn per request). Serving
the page joins the shell's pieces with those parts.

A shell's key holds the values it shows, not versions of them, so a shell is never stale, only
unused: a renamed company simply gives new keys. A logged-in page (`render_page`) is keyed by
`layout_key()` (who is logged in and their name, the company and its name, the customer, the
role, the session's Change Company and focused-shop flags, the endpoint) and the page's own
values. An anonymous page (`render_anonymous_page`, a seller's invite page) comes from a shell
only for a visitor whose session holds nothing of their own (no login, no flash message, no
"remember me" cookie to turn into a login); anyone else gets the template rendered as usual, so
nothing about one person can reach another's page. Shells live in this process's memory, the
most recently used kept (per app); in debug mode (templates reloaded on change) none is kept.
"""
import re
import secrets
import threading
from collections import OrderedDict

from flask import current_app, g, get_flashed_messages, render_template, request, session
from flask_login import current_user
from markupsafe import escape

from komet.tenancy import current_workspace
from komet.web.csrf_tokens import form_token
from komet.web.security import csp_nonce
# A session holding only these is an anonymous visitor's.
from komet.web.session_cookie import _ANONYMOUS_KEYS

MAX_SHELLS = 2000  # a few kB each
# Random per process, so no text a page shows can hold one by chance or on purpose; letters and
# digits, so every escaping (HTML, JSON, a URL) leaves it as it is. The request's own values are
# put in after the shell is split, so they are never searched for markers.
_MARK = f"komet{secrets.token_hex(12)}"
_MARKER = re.compile(f"{_MARK}-([a-z_]+)-")


def _marker(name):
    return f"{_MARK}-{name}-"


class _Shells:
    """The most recently used shells of this process: key -> pieces."""

    def __init__(self, size):
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            pieces = self.entries.get(key)
            if pieces is not None:
                self.entries.move_to_end(key)
            return pieces

    def put(self, key, pieces):
        with self.lock:
            self.entries[key] = pieces
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


def layout_key():
    """What the layouts (templates/base.html, layouts/*.html, the account menus) show that is
    not the same for everyone: each value itself, so that a change makes another key."""
    workspace, user = current_workspace(), current_user
    company, customer, role = workspace.company, workspace.customer, workspace.role
    return (request.script_root, request.endpoint, user.id, user.name, workspace.key, company.id, company.name,
            role and role.value, customer and customer.id, customer and customer.name,
            session.get("workspace_count", 0) > 1, bool(session.get("focused_company")))


def render_page(template, key=(), slots=None, **context):
    """A logged-in page: render_template(template, **slots, **context), from a shell kept under
    `key` (every value in `context` the page shows, beyond the layout's) and `layout_key()`.

    `slots` are the parts that differ between requests with the same key (Markup or text)."""
    return _served((template, layout_key(), key), template, slots or {}, lambda: context)


def render_anonymous_page(template, key, context):
    """An anonymous visitor's page: render_template(template, **context()), from a shell kept
    under `key` (every value the page shows); `context` is called only when the page is drawn."""
    if not _anonymous():
        return render_template(template, **context())
    return _served((template, ("anonymous", request.script_root), key), template, {}, context)


def _anonymous():
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return session.keys() <= _ANONYMOUS_KEYS and remember not in request.cookies


def _served(full_key, template, slots, context):
    app = current_app._get_current_object()  # once: each use of the proxy costs a lookup
    shells = app.extensions.get("komet.shells")
    if shells is None:  # one store per app: two apps in a process (the tests build several) may differ
        shells = app.extensions["komet.shells"] = _Shells(MAX_SHELLS)
    pieces = shells.get(full_key)
    if pieces is None:
        pieces = _render_shell(template, slots, context)
        if not app.debug:
            shells.put(full_key, pieces)
    # The token creates a new visitor's CSRF secret (and cookie), as the template would have.
    values = {"nonce": csp_nonce(), "csrf": str(escape(form_token())), "flashes": _flashes(app),
              **{name: str(escape(value)) for name, value in slots.items()}}
    return "".join([values[piece] if index % 2 else piece for index, piece in enumerate(pieces)])


def _render_shell(template, slots, context):
    """The page with markers, split into [text, marker name, text, ...]."""
    token, nonce, field = form_token(), csp_nonce(), current_app.config["WTF_CSRF_FIELD_NAME"]
    # csp_nonce() and Flask-WTF keep the request's value in `g`: a marker there is what every
    # template, imported macro, form widget and csrf_token() call draws.
    g.csp_nonce, g.__dict__[field] = _marker("nonce"), _marker("csrf")
    try:  # the context is made here: a form made in it holds the marker as its token
        html = render_template(template, **context(), **{name: _marker(name) for name in slots},
                               shell_flashes=_marker("flashes"))
    finally:
        g.csp_nonce, g.__dict__[field] = nonce, token
    # The request's own token and nonce must not end up in a shell served to others.
    if token in html or nonce in html:
        raise RuntimeError(f"{template} draws the form token or the nonce outside the shell's markers")
    return tuple(_MARKER.split(html))


def _flashes(app):
    """templates/_flashes.html for this request (what base.html includes when not in a shell)."""
    if get_flashed_messages():
        return render_template("_flashes.html")
    empty = app.extensions.get("komet.shell_no_flashes")
    if empty is None:  # the template drawn with no message: its whitespace, kept as it was
        empty = app.extensions["komet.shell_no_flashes"] = render_template(
            "_flashes.html", get_flashed_messages=lambda **_: [])
    return empty
