"""Setup > Users: the seller's e-commerce users, their audit log and CSV imports."""
from flask import Blueprint

bp = Blueprint("users", __name__)

from blueprints.users import imports, routes  # noqa: E402,F401
