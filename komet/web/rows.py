"""What every row of a long cached table shares, worked out once per page.

A row is drawn in about 20 µs from a macro; building its links with url_for, its form tokens
and its zone once per row took several times that. Each URL is a (prefix, suffix) pair around
the row's id. Tables that are cached are drawn with `CSRF_PLACEHOLDER` for the form token, and
`with_csrf` puts this session's token in when the cached HTML is served.
"""
from markupsafe import Markup

from komet import timezones
from komet.tenancy import current_company
from komet.web.csrf_tokens import form_token
from komet.web.urls import id_url_parts


class RowKit:
    BLUEPRINT = ""  # the endpoints' blueprint
    ID_NAME = ""  # the URL rule's name for the row's id
    ROW_ENDPOINTS = ()
    # Markup, so that it is written as is; a name holding the same text is escaped, never matched.
    CSRF_PLACEHOLDER = Markup("<csrf-token>")

    def __init__(self, csrf_token=None):
        self.csrf_token = csrf_token or form_token()
        self.timezone = current_company().timezone
        for endpoint in self.ROW_ENDPOINTS:
            setattr(self, endpoint, id_url_parts(f"{self.BLUEPRINT}.{endpoint}", self.ID_NAME))

    def local(self, moment):
        return timezones.format_local(moment, self.timezone)

    @classmethod
    def with_csrf(cls, html):
        """Cached HTML drawn with the placeholder, with this session's form token in its place."""
        return Markup(html.replace(cls.CSRF_PLACEHOLDER, form_token()))
