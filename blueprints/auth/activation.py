"""The buyer's side of e-commerce users: activation, confirm-link, a new link, the profile.

Registered on the auth blueprint (the URLs sit beside /login and /reset-password).
"""
from flask import flash, render_template, url_for
from flask_login import current_user, login_required

from blueprints.auth import bp, entry
from blueprints.auth.forms import ForgotPasswordForm, NewPasswordForm
from komet.accounts import activation, devices, profile, sessions, two_step
from komet.extensions import limiter
from komet.tokens import InvalidToken
from komet.web import htmx
from komet.web.forms import EmptyForm


def _login_limit():
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/activate/<token>", methods=["GET", "POST"])
def activate(token):
    return _link_page(activation.ACTIVATION, token)


@bp.route("/confirm-link/<token>", methods=["GET", "POST"])
def confirm_link(token):
    return _link_page(activation.LINK_CONFIRM, token)


def _link_page(purpose, token):
    """A login without a password sets one here; a login with one confirms with one click."""
    try:
        account = activation.account_for_token(purpose, token)
    except InvalidToken as exc:
        return render_template("auth/link_invalid.html", reason=exc.reason, form=ForgotPasswordForm()), 410
    user, company = profile.login_and_company(account)
    if user.password_hash is None:
        form = NewPasswordForm()
        form.email_for_check = user.email
        if not form.validate_on_submit():
            return render_template("auth/activate.html", form=form, user=user, account=account, company=company), \
                422 if form.is_submitted() else 200
        activation.activate(account, form.password.data)
        return _signed_in(user, company)
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_template("auth/confirm_link.html", form=form, user=user, account=account, company=company)
    activation.activate(account)
    if current_user.is_authenticated and current_user.id == user.id:
        flash(f"You now work with {company.name}. Choose it below.", "success")
        return htmx.redirect(url_for("auth.choose"))
    sessions.log_out(current_user)  # someone else's session on this device ends; the buyer logs in
    flash(f"You now work with {company.name}. Log in to start buying from them.", "success")
    return htmx.redirect(url_for("auth.login"))


def _signed_in(user, company):
    response = entry.after_password(user)  # the same way in as a login (a second step if it has one)
    flash(f"Your login is active. Welcome to {company.name}.", "success")
    return response


@bp.post("/activation/new-link")
@limiter.limit(_login_limit)
def new_activation_link():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/link_invalid.html", reason=None, form=form), 422
    activation.resend_for_email(form.email.data)
    return render_template("auth/link_sent.html", email=form.email.data)


@bp.get("/account/profile")
@login_required
def profile_page():
    return render_template("auth/profile.html", companies=profile.companies_of(current_user),
                           devices=devices.devices_of(current_user), two_step_on=two_step.is_on(current_user.id))
