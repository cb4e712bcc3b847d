"""URLs for the rows of a long table, without a url_for per link.

Werkzeug builds a URL in about 5-10 µs; a Message History page has seven links per row. A row
URL differs from its neighbours only by the id, so each endpoint is built once per request
with a marker id and the marker is replaced (the int converter writes ids as plain digits).
"""
from flask import g, url_for
from werkzeug.routing import IntegerConverter

_MARKER = 987654321987


def id_url_parts(endpoint, name):
    """(prefix, suffix): the URL of `endpoint` is prefix + str(id) + suffix for any id `name`."""
    cache = g.setdefault("_id_urls", {})
    key = (endpoint, name)
    if key not in cache:
        cache[key] = tuple(url_for(endpoint, **{name: _MARKER}).split(str(_MARKER)))
    return cache[key]


def url_for_id(endpoint, **values):
    """url_for(endpoint, **values) where exactly one value is an integer id."""
    [(name, ident)] = values.items()
    prefix, suffix = id_url_parts(endpoint, name)
    return f"{prefix}{int(ident)}{suffix}"


class IdConverter(IntegerConverter):
    """`<int:...>` for database ids. A number past the integer column's range is an id no row
    has: it becomes 0 (ids start at 1), so the route answers as for any missing id (404 after
    the usual login and role checks) instead of the database refusing the query (500).
    Refusing it in the matcher instead would make Werkzeug answer 405 for a POST route."""

    MAX_ID = 2**31 - 1  # PostgreSQL integer

    def to_python(self, value):
        number = super().to_python(value)
        return number if number <= self.MAX_ID else 0
