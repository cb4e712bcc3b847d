from datetime import datetime, timezone

from werkzeug.datastructures import MultiDict
from wtforms import Form

from komet.forms import LocalDateTimeField, after


class Period(Form):
    publish_on = LocalDateTimeField("Publish On", tz_name="America/New_York")
    expires_on = LocalDateTimeField("Expires On", tz_name="America/New_York",
                                    validators=[after("publish_on", "Expires On must be after Publish On.")])


def test_wall_clock_input_becomes_aware_utc():
    form = Period(MultiDict({"publish_on": "2026-12-01T09:00", "expires_on": "2026-12-02T09:00"}))
    assert form.validate()
    assert form.publish_on.data == datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)


def test_nonexistent_time_is_a_field_error_that_says_so():
    form = Period(MultiDict({"publish_on": "2026-03-08T02:30", "expires_on": "2026-03-09T09:00"}))
    assert not form.validate()
    assert "does not exist" in form.publish_on.errors[0]
    assert form.publish_on._value() == "2026-03-08T02:30"  # what the user typed stays in the box


def test_expiry_before_publication_is_refused():
    form = Period(MultiDict({"publish_on": "2026-12-02T09:00", "expires_on": "2026-12-01T09:00"}))
    assert not form.validate()
    assert form.expires_on.errors == ["Expires On must be after Publish On."]
