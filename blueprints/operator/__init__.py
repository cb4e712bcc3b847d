"""The platform operator's page: is email flowing, which part is stuck. Operators only."""
from flask import Blueprint, abort
from flask_login import current_user

from komet.ops import operators

bp = Blueprint("operator", __name__)


@bp.before_request
def _operators_only():
    # 404, not 403 or a login redirect: to anyone else the operator pages do not exist.
    if not operators.is_operator(current_user):
        abort(404)


from blueprints.operator import routes  # noqa: E402,F401
