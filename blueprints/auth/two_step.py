"""Two-step verification: the code step of logging in, and a login's own settings."""
from flask import current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from blueprints.auth import bp, entry
from blueprints.auth.forms import ConfirmPasswordForm, TwoStepCodeForm, TwoStepSetupForm
from komet.accounts import passwords, two_step
from komet.extensions import limiter
from komet.web import htmx

SETUP_SECRET = "two_step_secret"  # the secret being set up, until a code proves the app has it
WRONG_CODE = "That code isn't right or was already used. Enter the newest code from your app, or a recovery code."


def _pending_login_key():
    return f"two-step:{(session.get(entry.PENDING) or {}).get('user')}"


# Wrong codes per login (a 6-digit code must not be guessable by trying); a right one costs nothing.
_failed_codes_per_login = limiter.shared_limit(
    lambda: current_app.config["TWO_STEP_RATE_LIMIT"], scope="two-step", methods=["POST"],
    key_func=_pending_login_key, deduct_when=lambda response: response.status_code == 422)


@bp.route("/login/two-step", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@_failed_codes_per_login
def two_step_login():
    waiting = entry.pending()
    if waiting is None:
        flash("Log in again: the code step waits five minutes at most.", "info")
        return htmx.redirect(url_for("auth.login"))
    form = TwoStepCodeForm()
    if not form.validate_on_submit():
        return render_template("auth/two_step_login.html", form=form), 422 if form.is_submitted() else 200
    user = two_step.login_for(waiting["user"])
    used = two_step.verify(user.id, form.code.data) if user else None
    if used is None:
        form.code.errors.append(WRONG_CODE)
        return render_template("auth/two_step_login.html", form=form), 422
    response = entry.enter(user, waiting["remember"], waiting["next"], waiting["focus"])
    if used == "recovery":
        flash(f"You used a recovery code; {two_step.recovery_codes_left(user.id)} left. "
              "Get new ones in Two-step verification if you are running out.", "info")
    return entry.remember_device(response, user.id) if form.remember_device.data else response


@bp.get("/account/two-step")
@login_required
def two_step_settings():
    return _settings_page(ConfirmPasswordForm())


def _settings_page(form, status=200):
    return render_template("auth/two_step.html", form=form, on=two_step.is_on(current_user.id),
                           required=two_step.required_for(current_user.id),
                           codes_left=two_step.recovery_codes_left(current_user.id)), status


@bp.route("/account/two-step/setup", methods=["GET", "POST"])
@login_required
def two_step_setup():
    if two_step.is_on(current_user.id):
        return redirect(url_for("auth.two_step_settings"))
    form = TwoStepSetupForm()
    secret = session.get(SETUP_SECRET) if form.is_submitted() else None
    if secret is None:
        secret = session[SETUP_SECRET] = two_step.new_secret()
    if form.validate_on_submit():
        codes = two_step.turn_on(current_user.id, secret, form.code.data)
        if codes is not None:
            session.pop(SETUP_SECRET, None)
            session.pop(entry.SETUP_REQUIRED, None)
            return render_template("auth/two_step_codes.html", codes=codes, first=True)
        form.code.errors.append("That code isn't right. Check that the app shows Komet with your email, "
                                "and enter the code it shows now.")
    uri = two_step.setup_uri(secret, current_user.email)
    return render_template("auth/two_step_setup.html", form=form, qr=two_step.qr_data_url(uri),
                           secret=two_step.group_secret(secret)), 422 if form.is_submitted() else 200


@bp.post("/account/two-step/recovery-codes")
@login_required
def two_step_new_codes():
    form = ConfirmPasswordForm()
    if not _password_confirmed(form) or not two_step.is_on(current_user.id):
        return _settings_page(form, 422)
    return render_template("auth/two_step_codes.html", codes=two_step.new_recovery_codes(current_user.id))


@bp.post("/account/two-step/off")
@login_required
def two_step_off():
    form = ConfirmPasswordForm()
    if not _password_confirmed(form):
        return _settings_page(form, 422)
    if two_step.required_for(current_user.id):
        form.password.errors.append("Your company requires two-step verification for staff, so it stays on.")
        return _settings_page(form, 409)
    two_step.turn_off(current_user.id)
    flash("Two-step verification is off. Logging in asks for your password only.", "success")
    return redirect(url_for("auth.two_step_settings"), code=303)


def _password_confirmed(form):
    if not form.validate_on_submit():
        return False
    if not passwords.login_row(current_user).check_password(form.password.data):
        form.password.errors.append("That is not your password.")
        return False
    return True
