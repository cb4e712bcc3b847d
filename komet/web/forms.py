"""Form pieces shared by every blueprint."""
from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.widgets import DateTimeLocalInput, HiddenInput

from komet import timezones
from komet.clock import utcnow
from komet.tenancy import current_company
from komet.web.urls import IdConverter


def database_id(value):
    """`value` as a row id, as a form field's coerce: a number the id column can hold, else
    ValueError (a field error), never a query the database refuses."""
    number = int(value)
    if not 1 <= number <= IdConverter.MAX_ID:
        raise ValueError(f"{value} is not an id")
    return number


class IdListField(Field):
    """The ids of the boxes ticked in a customer picker (templates/_picker.html): several inputs
    with one name, read as sorted distinct ids."""

    widget = HiddenInput()

    def process_formdata(self, valuelist):
        try:
            self.data = sorted({database_id(v) for v in valuelist if str(v).strip()})
        except ValueError:
            self.data = []
            raise ValueError("Choose customers from the list.") from None

    def _value(self):
        return ""


class EmptyForm(FlaskForm):
    """For button-only POSTs: carries the CSRF token and nothing else."""


class LocalDateTimeField(Field):
    """Date and time typed in the company's time zone; `.data` is an aware UTC datetime.

    A wall time that does not exist (spring forward) is a field error that says so; an
    ambiguous one (fall back) takes the first occurrence.
    """

    widget = DateTimeLocalInput()
    # Far enough for any schedule; near year 9999 the zone conversion and date arithmetic
    # (Copy's new dates) leave the calendar.
    EARLIEST, LATEST = datetime(2000, 1, 1), datetime(2999, 12, 31, 23, 59)

    def __init__(self, label=None, validators=None, tz_name=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.tz_name = tz_name
        self.raw_wall_time = None

    @property
    def description(self):
        """The zone times are typed in, with the abbreviation in force then (EST or EDT)."""
        zone = timezones.zone(self.zone_name).key
        return f"{zone} time ({timezones.zone_abbreviation(zone, self.data or utcnow())})"

    @description.setter
    def description(self, _value):  # WTForms sets a static description; this one is computed
        pass

    def __call__(self, **kwargs):
        # The page updates the abbreviation as a time is typed (a date in summer shows EDT).
        kwargs.setdefault("data_tz", timezones.zone(self.zone_name).key)
        return super().__call__(**kwargs)

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
        if not self.EARLIEST <= self.raw_wall_time <= self.LATEST:
            raise ValueError(f"Choose a date between {self.EARLIEST.year} and {self.LATEST.year}.")
        try:
            self.data = timezones.to_utc(self.raw_wall_time, self.zone_name)
        except timezones.NonexistentTimeError as exc:
            raise ValueError(str(exc)) from None

    def _value(self):
        if self.raw_data and self.raw_data[0]:
            return self.raw_data[0]
        return timezones.input_value(self.data, self.zone_name)

