"""Pages served from a pre-rendered shell.

Jinja drawing a page's layout again for every request (the header, the account menu, the
Setup navigation, the asset links under their hashed names, the page's own headings) cost a
logged-in page more than its queries. A shell is the whole page rendered once, with markers
where each request's own parts go: the CSP nonce, the form token, the flashed messages, and the
page's slots (regions cached under their own versions, or drawn per request). Serving the page
joins the shell's pieces with those parts.

A shell's key holds the values it shows, not versions of them (who is logged in and their
name, the company and its name, the customer, the role, the session's Change Company and
focused-shop flags, the endpoint, the page's own arguments), so a shell is never stale, only
unused: a renamed company simply gives new keys. Shells live in this process's memory, the
most recently used kept (per app); in debug mode (templates reloaded on change) none is kept.
"""
import re
import threading
from collections import OrderedDict

from flask import current_app, get_flashed_messages, render_template, request, session
from flask_login import current_user
from markupsafe import Markup, escape

from komet.tenancy import current_workspace
from komet.web.csrf_tokens import form_token
from komet.web.security import csp_nonce

MAX_SHELLS = 2000  # a few kB each
# A marker is a tag no escaped text can contain ("<" is written "&lt;"), and the slots' own
# content is put in after the shell is split, so it is never searched for markers.
_MARKER = re.compile(r"<komet-shell:([a-z_]+)>")


def _marker(name):
    return Markup(f"<komet-shell:{name}>")


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

    def clear(self):
        with self.lock:
            self.entries.clear()


def _shells():
    # One store per app: two apps in a process (the tests build several) may differ in settings.
    shells = current_app.extensions.get("komet.shells")
    if shells is None:
        shells = current_app.extensions["komet.shells"] = _Shells(MAX_SHELLS)
    return shells


def layout_key():
    """What the layouts (templates/base.html, layouts/*.html, the account menus) show that is
    not the same for everyone: each value itself, so that a change makes another key."""
    workspace, user = current_workspace(), current_user
    company, customer, role = workspace.company, workspace.customer, workspace.role
    return (request.script_root, request.endpoint, user.id, user.name, workspace.key, company.id, company.name,
            role and role.value, customer and customer.id, customer and customer.name,
            session.get("workspace_count", 0) > 1, bool(session.get("focused_company")))


def render_page(template, key=(), slots=None, **context):
    """The same page as render_template(template, **slots, **context), from a shell kept under
    `key` (every value in `context` the page shows, beyond the layout's) and `layout_key()`.

    `slots` are the parts that differ between requests with the same key (Markup or text)."""
    slots = slots or {}
    full_key = (template, layout_key(), key)
    shells = _shells()
    pieces = shells.get(full_key)
    if pieces is None:
        pieces = _render_shell(template, slots, context)
        if not current_app.debug:
            shells.put(full_key, pieces)
    values = {"nonce": csp_nonce(), "csrf": str(escape(form_token())), "flashes": _flashes(),
              **{name: str(escape(value)) for name, value in slots.items()}}
    return "".join(values[piece] if index % 2 else piece for index, piece in enumerate(pieces))


def _render_shell(template, slots, context):
    """The page with markers, split into [text, marker name, text, ...]."""
    # The request's own token and nonce must not end up in a shell served to others.
    token, nonce = form_token(), csp_nonce()
    html = render_template(
        template, **context, **{name: _marker(name) for name in slots},
        csp_nonce=lambda: _marker("nonce"), csrf_token=lambda: _marker("csrf"), shell_flashes=_marker("flashes"))
    if token in html or nonce in html:
        raise RuntimeError(f"{template} draws the form token or the nonce outside the shell's markers")
    return tuple(_MARKER.split(html))


def _flashes():
    """templates/_flashes.html for this request (what base.html includes when not in a shell)."""
    if get_flashed_messages():
        return render_template("_flashes.html")
    empty = current_app.extensions.get("komet.shell_no_flashes")
    if empty is None:  # the template drawn with no message: its whitespace, kept as it was
        empty = current_app.extensions["komet.shell_no_flashes"] = render_template(
            "_flashes.html", get_flashed_messages=lambda **_: [])
    return empty
