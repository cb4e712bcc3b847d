from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from komet.clock import utcnow
from komet.forms import LocalDateTimeField
from komet.models import MessageType


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MessageForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Enter a title."),
                                             Length(max=200, message="Keep the title under 200 characters.")])
    content = TextAreaField("Content", validators=[Length(max=200_000, message="The content is too long.")])
    publish_now = BooleanField("Publish now")
    publish_on = LocalDateTimeField("Publish On")
    expires_on = LocalDateTimeField("Expires On", validators=[DataRequired("Choose when the message expires.")])
    type = RadioField("Type", choices=[(t.value, t.label) for t in MessageType], default=MessageType.POPUP.value,
                      validators=[DataRequired("Choose Pop-up or Window.")])
    audience = RadioField("Audience", choices=[("all", "All customers"), ("chosen", "Chosen customers")],
                          default="all")
    customers = MultiCheckboxField("Customers", coerce=int, validate_choice=False)

    def validate_publish_on(self, field):
        if not self.publish_now.data and field.data is None and not field.errors:
            raise ValidationError("Choose when to publish, or tick Publish now.")

    def validate_expires_on(self, field):
        start = utcnow() if self.publish_now.data else self.publish_on.data
        if field.data is not None and start is not None and field.data <= start:
            raise ValidationError("Expires On must be after Publish On.")

    def validate_customers(self, field):
        if self.audience.data == "chosen" and not field.data:
            raise ValidationError("Choose at least one customer, or send it to all customers.")


def message_form(message=None, customer_choices=(), prefix=""):
    """The form, filled from `message` on GET (from the request on POST), with this company's customers."""
    data = None
    if message is not None:
        from komet.message_admin import chosen_customer_ids

        data = {"title": message.title, "content": message.content_html, "publish_on": message.publish_on,
                "expires_on": message.expires_on, "type": message.type.value,
                "audience": "all" if message.for_all_customers else "chosen",
                "customers": chosen_customer_ids(message)}
    form = MessageForm(data=data, prefix=prefix)
    form.customers.choices = list(customer_choices)
    return form
