"""Form pieces shared by every blueprint."""
from flask_wtf import FlaskForm
from wtforms import Field, ValidationError
from wtforms.widgets import DateTimeLocalInput

from komet import timezones
from komet.tenancy import current_company


class EmptyForm(FlaskForm):
    """For button-only POSTs: carries the CSRF token and nothing else."""


class LocalDateTimeField(Field):
    """Date and time typed in the company's time zone; `.data` is an aware UTC datetime.

    A wall time that does not exist (spring forward) is a field error that says so; an
    ambiguous one (fall back) takes the first occurrence.
    """

    widget = DateTimeLocalInput()

    def __init__(self, label=None, validators=None, tz_name=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.tz_name = tz_name
        self.raw_wall_time = None

    @property
    def zone_name(self):
        if self.tz_name:
            return self.tz_name
        company = current_company()
        return company.timezone if company else None

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        self.raw_wall_time = timezones.parse_input(valuelist[0])
        if self.raw_wall_time is None:
            raise ValueError("Enter a date and time, e.g. 2026-12-01 09:00.")
        try:
            self.data = timezones.to_utc(self.raw_wall_time, self.zone_name)
        except timezones.NonexistentTimeError as exc:
            raise ValueError(str(exc)) from None

    def _value(self):
        if self.raw_data and self.raw_data[0]:
            return self.raw_data[0]
        return timezones.input_value(self.data, self.zone_name)


def after(other_field_name, message):
    """Validator: this time must be later than the time in `other_field_name`."""

    def check(form, field):
        other = form[other_field_name].data
        if field.data is not None and other is not None and field.data <= other:
            raise ValidationError(message)

    return check
