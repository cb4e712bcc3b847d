from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from komet import customers
from komet.clock import utcnow
from komet.messages.admin import audience_customers
from komet.models import MessageType
from komet.web.forms import IdListField, LocalDateTimeField


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
    customers = IdListField("Customers")
    chosen = ()  # the chosen customers as the picker shows them (message_form sets them)

    def validate_publish_on(self, field):
        if not self.publish_now.data and field.data is None and not field.errors:
            raise ValidationError("Choose when to publish, or tick Publish now.")

    def validate_expires_on(self, field):
        start = utcnow() if self.publish_now.data else self.publish_on.data
        if field.data is not None and start is not None and field.data <= start:
            raise ValidationError("Expires On must be after Publish On.")

    def validate_audience(self, field):
        # Ids that are not this company's customers were dropped (message_form): if that leaves
        # none, the message would reach nobody.
        if field.data == "chosen" and not self.customers.data:
            raise ValidationError("Choose at least one customer, or send it to all customers.")


def message_form(message=None, prefix=""):
    """The form, filled from `message` on GET (from the request on POST), with its chosen
    customers: only those, never the company's whole list."""
    if message is not None:
        chosen = audience_customers(message)
        form = MessageForm(prefix=prefix, data={
            "title": message.title, "content": message.content_html, "publish_on": message.publish_on,
            "expires_on": message.expires_on, "type": message.type.value,
            "audience": "all" if message.for_all_customers else "chosen", "customers": [c.id for c in chosen]})
    else:
        form = MessageForm(prefix=prefix)
        # Ids sent that are not this company's customers go here, in one query bounded by the ids sent.
        chosen = customers.by_ids(form.customers.data or ())
        form.customers.data = [c.id for c in chosen]
    form.chosen = chosen
    return form
