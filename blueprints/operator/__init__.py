"""The platform operator's page: is email flowing, which part is stuck. Operators only."""
from flask import Blueprint, abort
from flask_login import current_user

from komet.ops import operators

bp = Blueprint("operator", __name__)


@bp.before_request
def _operators_only():
    # 403, as for any role one lacks (the project's rule); a login redirect would tell a
    # seller's staff nothing more useful.
    if not operators.is_operator(current_user):
        abort(403)


from blueprints.operator import routes  # noqa: E402,F401
