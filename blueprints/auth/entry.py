"""What happens after a good password: the second step if the login has one, then into the
right place (the selection screen, the one workspace, or the seller's shop of an invite page)."""
import time

from flask import current_app, flash, request, session, url_for
from flask_login import current_user

from komet import tenancy
from komet.accounts import sessions, two_step
from komet.ops import operators
from komet.web import htmx
from komet.web.security import safe_next

PENDING = "two_step_pending"  # who passed the password and waits for the code step
SETUP_REQUIRED = "two_step_setup_required"
TRUST_COOKIE = "komet_trusted_device"
PENDING_SECONDS = 5 * 60


def landing_url(workspace):
    return url_for("setup.index") if workspace.is_staff else url_for("shop.home")


def after_password(user, remember=False, next_url="", focus=None):
    """Ask for the code unless the login has no second step or this device is remembered."""
    if two_step.is_on(user.id) and not two_step.is_remembered(user.id, request.cookies.get(TRUST_COOKIE)):
        session.clear()
        session[PENDING] = {"user": user.id, "remember": bool(remember), "next": next_url or "", "focus": focus,
                            "at": int(time.time())}
        return htmx.redirect(url_for("auth.two_step_login"))
    return enter(user, remember, next_url, focus)


def pending():
    """The login waiting for its code step, while it is fresh; else None."""
    waiting = session.get(PENDING)
    if not waiting or time.time() - waiting.get("at", 0) > PENDING_SECONDS:
        return None
    return waiting


def enter(user, remember=False, next_url="", focus=None):
    """Sign in on this device and go where the login leads (staff whose company requires
    two-step verification set it up first, with their workspace already chosen)."""
    sessions.log_in(user, remember=remember)
    response = _into_workspace(user, next_url, focus)
    if two_step.required_for(user.id) and not two_step.is_on(user.id):
        session[SETUP_REQUIRED] = True
        flash("Your company asks all staff to use two-step verification. Set it up to continue.", "info")
        return htmx.redirect(url_for("auth.two_step_setup"))
    return response


def _into_workspace(user, next_url, focus):
    workspaces = tenancy.workspaces_for(user)
    if focus is not None:
        here = [w for w in workspaces if not w.is_staff and w.company.id == focus]
        if here:
            session["workspace_count"] = 1  # no Change Company: this session is for this seller
            session["focused_company"] = focus  # a focused shop, and Log out comes back here
            tenancy.choose_workspace(here[0])
            return htmx.redirect(url_for("shop.home"))
    return enter_workspaces(workspaces, next_url)


def enter_workspaces(workspaces, next_url=""):
    """Go straight in with one workspace, to the selection screen with several."""
    session["workspace_count"] = len(workspaces)
    if not workspaces and operators.is_operator(current_user):  # runs the platform, no company
        return htmx.redirect(url_for("operator.index"))
    if len(workspaces) != 1:
        return htmx.redirect(url_for("auth.choose"))
    tenancy.choose_workspace(workspaces[0])
    return htmx.redirect(safe_next(next_url) or landing_url(workspaces[0]))


def remember_device(response, user_id):
    """Set the cookie that spares this browser the code step for TWO_STEP_REMEMBER_DAYS."""
    days = current_app.config["TWO_STEP_REMEMBER_DAYS"]
    response.set_cookie(TRUST_COOKIE, two_step.remember_device(user_id), max_age=days * 86400, httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax")
    return response


# Only these may be reached by staff who must set up two-step verification first.
_OPEN_DURING_SETUP = {"auth.two_step_setup", "auth.two_step_settings", "auth.logout", "static", "health.healthz",
                      "health.readyz", "health.metrics"}


def setup_gate():
    """Staff whose company requires two-step verification set it up before anything else."""
    if session.get(SETUP_REQUIRED) and request.endpoint not in _OPEN_DURING_SETUP:
        return htmx.redirect(url_for("auth.two_step_setup"))
    return None
