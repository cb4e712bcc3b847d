from flask import Blueprint

bp = Blueprint("auth", __name__)

from blueprints.auth import activation, devices, entry, routes, two_step  # noqa: E402,F401

bp.before_app_request(entry.setup_gate)
