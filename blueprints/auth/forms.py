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
