from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Email, Length, Regexp, ValidationError

from komet.web.forms import IdListField


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _at_least_one(form, field):
    if not field.data:
        raise ValidationError("Choose at least one customer.")


class EcommerceUserForm(FlaskForm):
    name = StringField("Name", filters=[_strip], validators=[DataRequired("Enter the person's name."), Length(max=120)])
    email = StringField("Email", filters=[_strip], validators=[DataRequired("Enter the email the person logs in with."),
                                             Email("Enter a valid email address, like name@example.com."),
                                             Length(max=254)],
                        render_kw={"type": "email", "autocomplete": "off"},
                        description="This is their login. Only they can change it or set its password.")
    username = StringField("Username", filters=[_strip], validators=[
        DataRequired("Enter a username."), Length(max=60),
        Regexp(r"^[A-Za-z0-9._@-]+$", message="Use letters, digits and . _ @ - only (no spaces).")],
        render_kw={"autocomplete": "off"}, description="Unique in your company.")
    customers = IdListField("Customers", validators=[_at_least_one])
    confirm_existing = HiddenField()


class EditEcommerceUserForm(EcommerceUserForm):
    email = None  # the login's email is the buyer's: shown, never edited


class ImportForm(FlaskForm):
    file = FileField("CSV file", description="Columns: name, email, username, customer (name or code). "
                                             "Comma or semicolon separated, UTF-8. Up to 5,000 rows.")
