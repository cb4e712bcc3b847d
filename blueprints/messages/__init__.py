"""Promotions and Messages (Setup > Settings): New Message and Message History."""
from flask import Blueprint

from komet.clock import utcnow
from komet.messages.schedule import status_at
from komet.web.rows import RowKit

bp = Blueprint("messages", __name__)


class HistoryRows(RowKit):
    """What every Message History row shares (komet.web.rows), with the clock for its status."""

    BLUEPRINT, ID_NAME = "messages", "message_id"
    ROW_ENDPOINTS = ("edit", "delete", "preview", "copy", "publish", "readers")

    def __init__(self, now=None, csrf_token=None):
        super().__init__(csrf_token)
        self.now = now or utcnow()

    def status(self, message):
        return status_at(message, self.now)


bp.add_app_template_global(HistoryRows, "history_rows")


from blueprints.messages import routes  # noqa: E402,F401
