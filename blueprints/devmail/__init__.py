"""The dev mailbox: what the local SMTP sink received. Registered only in development."""
from flask import Blueprint

bp = Blueprint("devmail", __name__)

from blueprints.devmail import routes  # noqa: E402,F401
