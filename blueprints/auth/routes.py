from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from blueprints.auth import bp
from blueprints.auth.forms import (ChangePasswordForm, ChooseWorkspaceForm, ForgotPasswordForm, LoginForm,
                                   NewPasswordForm)
from komet import accounts, htmx, tenancy
from komet.extensions import limiter
from komet.tokens import InvalidToken


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _email_key():
    return "login:" + (request.form.get("email") or "").strip().lower()


def landing_url(workspace):
    return url_for("setup.index") if workspace.is_staff else url_for("shop.home")


def _is_safe(target):
    """Only a path on this site: browsers read "//host" and "/\\host" as another site."""
    return bool(target) and target.startswith("/") and target[1:2] not in ("/", "\\") and "\\" not in target


@bp.get("/")
def index():
    workspace = tenancy.current_workspace() if current_user.is_authenticated else None
    if workspace:
        return redirect(landing_url(workspace))
    return redirect(url_for("auth.choose" if current_user.is_authenticated else "auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_email_key)
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422 if form.is_submitted() else 200
    user = accounts.authenticate(form.email.data, form.password.data)
    if user is None:
        form.password.errors.append("Email or password is incorrect.")
        return render_template("auth/login.html", form=form), 422
    session.clear()  # a fresh session at login: nothing carried over from before
    login_user(user, remember=form.remember.data)
    return _enter(tenancy.workspaces_for(user), form.next.data)


def _enter(workspaces, next_url=""):
    """Go straight in with one workspace, to the selection screen with several."""
    session["workspace_count"] = len(workspaces)
    if len(workspaces) != 1:
        return htmx.redirect(url_for("auth.choose"))
    tenancy.choose_workspace(workspaces[0])
    return htmx.redirect(next_url if _is_safe(next_url) else landing_url(workspaces[0]))


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return htmx.redirect(url_for("auth.login"))


@bp.route("/choose", methods=["GET", "POST"])
@login_required
def choose():
    workspaces = tenancy.workspaces_for(current_user)
    session["workspace_count"] = len(workspaces)
    form = ChooseWorkspaceForm()
    if form.validate_on_submit():
        chosen = next((w for w in workspaces if w.key == form.workspace.data), None)
        if chosen is not None:
            tenancy.choose_workspace(chosen)
            return htmx.redirect(landing_url(chosen))
        form.workspace.errors.append("That company is not available to you any more. Choose another.")
    status = 422 if form.is_submitted() else 200
    return render_template("auth/choose.html", form=form, workspaces=workspaces), status


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot_password.html", form=form), 422 if form.is_submitted() else 200
    accounts.request_password_reset(form.email.data)
    return render_template("auth/forgot_password_sent.html", email=form.email.data)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        user = accounts.user_for_reset_token(token)
    except InvalidToken as exc:
        return render_template("auth/reset_password_invalid.html", reason=exc.reason), 410
    form = NewPasswordForm()
    form.email_for_check = user.email
    if not form.validate_on_submit():
        return render_template("auth/reset_password.html", form=form, user=user), 422 if form.is_submitted() else 200
    accounts.set_new_password(user, form.password.data)
    logout_user()
    session.clear()
    flash("Your password is changed. Log in with the new one.", "success")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    form.email_for_check = current_user.email
    if form.validate_on_submit():
        if current_user.check_password(form.current.data):
            accounts.set_new_password(current_user, form.password.data)
            login_user(current_user)  # the session id changed with the password: keep this one in
            flash("Your password is changed. Other devices have been logged out.", "success")
            return redirect(url_for("auth.index"), code=303)
        form.current.errors.append("That is not your current password.")
    status = 422 if form.is_submitted() else 200
    return render_template("auth/change_password.html", form=form), status
