from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from komet.invites.bulk import MAX_SELECTED
from komet.web.forms import IdListField


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _text(label, required=None, max_length=120, **kwargs):
    validators = [DataRequired(required)] if required else [Optional()]
    return StringField(label, filters=[_strip], validators=[*validators, Length(max=max_length)], **kwargs)


class InviteLoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired("Enter your email."), Length(max=254)],
                        render_kw={"autocomplete": "username", "type": "email"})
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")],
                             render_kw={"autocomplete": "current-password"})


class RegisterForm(FlaskForm):
    business_name = _text("Business name", "Enter your business name.")
    contact_name = _text("Contact name", "Enter your name.")
    email = StringField("Email", filters=[_strip], validators=[
        DataRequired("Enter your email."), Email("Enter a valid email address, like name@example.com."),
        Length(max=254)], render_kw={"type": "email", "autocomplete": "email"})
    phone = _text("Phone", max_length=40, render_kw={"type": "tel", "autocomplete": "tel"})
    city = _text("City", max_length=80, render_kw={"autocomplete": "address-level2"})
    country = _text("Country", max_length=80, render_kw={"autocomplete": "country-name"})
    message = TextAreaField("Message", filters=[_strip], validators=[Optional(), Length(max=2000)],
                            description="Optional: what you would like to buy, or anything the seller should know.")
    # The honeypot: hidden from people (and screen readers), filled in by form-filling bots.
    website = StringField("Leave this field empty", render_kw={"autocomplete": "off", "tabindex": "-1"})


class ApproveForm(FlaskForm):
    choice = RadioField("Customer", choices=[("new", "Create a new customer"), ("existing", "Link to an existing customer")],
                        default="new")
    # No Optional(): it would stop the check below that needs the name when "new" is chosen.
    customer_name = StringField("New customer's name", filters=[_strip], validators=[Length(max=120)])
    customers = IdListField("Existing customer")  # the picker's ticked box

    def validate_customer_name(self, field):
        if self.choice.data == "new" and not field.data:
            raise ValidationError("Enter the new customer's name.")

    def validate_customers(self, field):
        if self.choice.data == "existing" and len(field.data or []) != 1:
            raise ValidationError("Find and tick one existing customer.")


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason (optional)", filters=[_strip], validators=[Optional(), Length(max=2000)])
    include_reason = BooleanField("Include the reason in the email to the requester")


class NotesForm(FlaskForm):
    internal_notes = TextAreaField("Internal notes", filters=[_strip], validators=[Optional(), Length(max=5000)],
                                   description="Only your company's staff see these.")


class BulkDecisionForm(FlaskForm):
    """The Pending tab's ticked requests and what to do with them (Approve selected or Reject
    selected). "Select all on this page" works without JavaScript: the page lists its own ids."""
    action = RadioField(choices=[("approve", "Approve selected"), ("reject", "Reject selected")],
                        validators=[DataRequired("Choose Approve selected or Reject selected.")])
    selected = IdListField("Selected requests")
    page_ids = IdListField("Requests on this page")
    select_all = BooleanField("Select all on this page")
    reason = TextAreaField("Reason (optional)", filters=[_strip], validators=[Optional(), Length(max=2000)])
    include_reason = BooleanField("Include the reason in the emails to the requesters")

    def chosen_ids(self):
        return self.page_ids.data if self.select_all.data else self.selected.data

    def validate_selected(self, field):
        chosen = self.chosen_ids()
        if not chosen:
            raise ValidationError("Tick the requests to decide, or Select all on this page.")
        if len(chosen) > MAX_SELECTED:
            raise ValidationError(f"Choose at most {MAX_SELECTED} requests at once.")
