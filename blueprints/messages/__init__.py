"""Promotions and Messages (Setup > Settings): New Message and Message History."""
from flask import Blueprint
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from komet import timezones
from komet.clock import utcnow
from komet.messages.schedule import status_at
from komet.tenancy import current_company
from komet.web.urls import id_url_parts

bp = Blueprint("messages", __name__)


class HistoryRows:
    """What every Message History row shares, worked out once per page (a row is drawn in
    about 20 µs; building its links, its form tokens and its zone each time took 4 times that).

    Each URL is a (prefix, suffix) pair around the message id. Rows that will be cached get
    `CSRF_PLACEHOLDER` for the form token, which the view replaces with this session's token.
    """

    ROW_ENDPOINTS = ("edit", "delete", "preview", "copy", "publish", "readers")
    # Markup, so that it is written as is; a title holding the same text is escaped, never matched.
    CSRF_PLACEHOLDER = Markup("<csrf-token>")

    def __init__(self, now=None, csrf_token=None):
        self.now = now or utcnow()
        self.csrf_token = csrf_token or generate_csrf()
        self.timezone = current_company().timezone
        for endpoint in self.ROW_ENDPOINTS:
            setattr(self, endpoint, id_url_parts(f"messages.{endpoint}", "message_id"))

    def status(self, message):
        return status_at(message, self.now)

    def local(self, moment):
        return timezones.format_local(moment, self.timezone)


bp.add_app_template_global(HistoryRows, "history_rows")


from blueprints.messages import routes  # noqa: E402,F401
