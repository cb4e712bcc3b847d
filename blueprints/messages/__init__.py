"""Promotions and Messages (Setup > Settings): New Message and Message History."""
from flask import Blueprint

bp = Blueprint("messages", __name__)

from blueprints.messages import routes  # noqa: E402,F401
