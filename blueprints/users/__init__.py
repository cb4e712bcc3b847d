"""Setup > Users: the seller's e-commerce users, their audit log and CSV imports."""
from flask import Blueprint

from komet.web.rows import RowKit

bp = Blueprint("users", __name__)


class UserRows(RowKit):
    """What every Setup > Users row shares (komet.web.rows)."""

    BLUEPRINT, ID_NAME = "users", "account_id"
    ROW_ENDPOINTS = ("edit", "resend", "disable", "enable", "user_audit")


bp.add_app_template_global(UserRows, "user_rows")


from blueprints.users import imports, routes  # noqa: E402,F401
