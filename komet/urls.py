"""URLs for the rows of a long table, without a url_for per link.

Werkzeug builds a URL in about 5-10 µs; a Message History page has seven links per row. A row
URL differs from its neighbours only by the id, so each endpoint is built once per request
with a marker id and the marker is replaced (the int converter writes ids as plain digits).
"""
from flask import g, url_for

_MARKER = 987654321987


def url_for_id(endpoint, **values):
    """url_for(endpoint, **values) where exactly one value is an integer id."""
    [(name, ident)] = values.items()
    cache = g.setdefault("_id_urls", {})
    key = (endpoint, name)
    if key not in cache:
        cache[key] = url_for(endpoint, **{name: _MARKER}).split(str(_MARKER))
    prefix, suffix = cache[key]
    return f"{prefix}{int(ident)}{suffix}"
