from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from blueprints.auth import bp, entry
from blueprints.auth.forms import (ChangePasswordForm, ChooseWorkspaceForm, ForgotPasswordForm, LoginForm,
                                   NewPasswordForm)
from komet import tenancy
from komet.accounts import passwords, profile, sessions
from komet.extensions import limiter
from komet.invites import links
from komet.tokens import InvalidToken
from komet.web import htmx
from komet.web.security import failed_logins_per_email


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.get("/")
def index():
    workspace = tenancy.current_workspace() if current_user.is_authenticated else None
    if workspace:
        return redirect(entry.landing_url(workspace))
    return redirect(url_for("auth.choose" if current_user.is_authenticated else "auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@failed_logins_per_email
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422 if form.is_submitted() else 200
    user = passwords.authenticate(form.email.data, form.password.data)
    if user is None:
        form.password.errors.append("Email or password is incorrect.")
        return render_template("auth/login.html", form=form), 422
    return entry.after_password(user, remember=form.remember.data, next_url=form.next.data)


@bp.post("/logout")
def logout():
    # A focused shop (entered through a seller's invite link) signs out back to that page;
    # its current token, so a link regenerated meanwhile does not end on a 404.
    token = links.token_of(session["focused_company"]) if session.get("focused_company") else None
    sessions.log_out(current_user)
    flash("You have logged out.", "info")
    return htmx.redirect(url_for("invite_page.show", token=token) if token else url_for("auth.login"))


@bp.route("/choose", methods=["GET", "POST"])
@login_required
def choose():
    workspaces = tenancy.workspaces_for(current_user)
    session["workspace_count"] = len(workspaces)
    form = ChooseWorkspaceForm()
    if form.validate_on_submit():
        chosen = next((w for w in workspaces if w.key == form.workspace.data), None)
        if chosen is not None:
            session.pop("focused_company", None)  # chose from every company: no longer one seller's shop
            tenancy.choose_workspace(chosen)
            return htmx.redirect(entry.landing_url(chosen))
        form.workspace.errors.append("That company is not available to you any more. Choose another.")
    status = 422 if form.is_submitted() else 200
    ended = [] if workspaces else profile.ended_access(current_user)
    return render_template("auth/choose.html", form=form, workspaces=workspaces, ended=ended), status


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot_password.html", form=form), 422 if form.is_submitted() else 200
    passwords.request_password_reset(form.email.data)
    return render_template("auth/forgot_password_sent.html", email=form.email.data)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        user = passwords.user_for_reset_token(token)
    except InvalidToken as exc:
        return render_template("auth/reset_password_invalid.html", reason=exc.reason), 410
    form = NewPasswordForm()
    form.email_for_check = user.email
    if not form.validate_on_submit():
        return render_template("auth/reset_password.html", form=form, user=user), 422 if form.is_submitted() else 200
    passwords.set_new_password(user, form.password.data)
    sessions.log_out(current_user)  # whoever was signed in on this device: all sessions ended
    flash("Your password is changed. Log in with the new one.", "success")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    form.email_for_check = current_user.email
    if form.validate_on_submit():
        user = passwords.login_row(current_user)
        if user.check_password(form.current.data):
            passwords.set_new_password(user, form.password.data)
            sessions.renew(user)  # every session ended with the password: this device goes on in a new one
            flash("Your password is changed. Other devices have been logged out.", "success")
            return redirect(url_for("auth.index"), code=303)
        form.current.errors.append("That is not your current password.")
    status = 422 if form.is_submitted() else 200
    return render_template("auth/change_password.html", form=form), status
