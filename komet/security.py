"""Login handling and the one decorator that checks the permission map."""
from functools import wraps

from flask import abort, flash, g, request, session, url_for
from flask_login import current_user

from komet import htmx, tenancy
from komet.extensions import login_manager
from komet.permissions import Permission, can
from komet.tenancy import current_workspace


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)


def _load_user(session_id):
    # The id carries the user's session token: a password change logs out other sessions.
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user, workspace = tenancy.load_session(int(user_id), session.get(tenancy.SESSION_KEY))
    if user is None or not user.is_active or user.session_token != token:
        return None
    g.workspace = workspace
    return user


def _unauthorized():
    flash(login_manager.login_message, "info")
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    # An htmx request must not get a login page swapped into a table cell.
    return htmx.redirect(target)


def _workspace_or_redirect():
    if not current_user.is_authenticated:
        return None, _unauthorized()
    workspace = current_workspace()
    if workspace is None:
        return None, htmx.redirect(url_for("auth.choose"))
    return workspace, None


def requires(permission=Permission.VIEW_SETUP):
    """Staff only, and only with `permission` in their role; 403 otherwise."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            workspace, response = _workspace_or_redirect()
            if response is not None:
                return response
            if not can(workspace.role, permission):
                abort(403, description=permission)
            return view(*args, **kwargs)

        wrapped.permission = permission
        return wrapped

    return decorator


def buyer_required(view):
    """Buyers in a customer workspace only; 403 for staff."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        workspace, response = _workspace_or_redirect()
        if response is not None:
            return response
        if workspace.is_staff:
            abort(403, description="the shop is for buyers")
        return view(*args, **kwargs)

    return wrapped
