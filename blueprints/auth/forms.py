from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from komet.accounts.passwords import password_problem


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired("Enter your email."), Length(max=254)],
                        render_kw={"autocomplete": "username", "type": "email"})
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField("Keep me logged in on this device")
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired("Enter your email."),
                                             Email("Enter a valid email address."), Length(max=254)],
                        render_kw={"autocomplete": "username", "type": "email"})


def _acceptable(form, field):
    problem = password_problem(field.data or "", getattr(form, "email_for_check", ""))
    if problem:
        raise ValidationError(problem)


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Enter a new password."), _acceptable],
                             render_kw={"autocomplete": "new-password"},
                             description="At least 10 characters.")
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired("Repeat the new password."),
                                        EqualTo("password", "The two passwords don't match.")],
                            render_kw={"autocomplete": "new-password"})


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password.")],
                            render_kw={"autocomplete": "current-password"})

    field_order = ("current", "password", "confirm")


class ChooseWorkspaceForm(FlaskForm):
    workspace = HiddenField(validators=[DataRequired()])


class TwoStepCodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter the 6-digit code from your app, or a recovery code."),
                                           Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
                       description="The 6-digit code your authenticator app shows now. Lost your phone? "
                                   "Enter one of your recovery codes instead.")
    remember_device = BooleanField("Don't ask again on this device for 30 days")


class TwoStepSetupForm(FlaskForm):
    code = StringField("Code from your app", validators=[DataRequired("Enter the 6-digit code your app shows."),
                                                         Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"})


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired("Enter your password to confirm.")],
                             render_kw={"autocomplete": "current-password"})
