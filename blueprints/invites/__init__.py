"""Invites: the staff screen under Setup > Users, and the seller's public invite page."""
from flask import Blueprint

bp = Blueprint("invites", __name__)  # staff: /setup/users/invite
public_bp = Blueprint("invite_page", __name__)  # visitors: /i/<token>

from blueprints.invites import public, queue, routes  # noqa: E402,F401
