from datetime import datetime, timezone

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form

from blueprints.messages.forms import MessageForm
from komet.search import like_pattern
from komet.web.forms import IdListField, LocalDateTimeField, database_id


class Period(Form):
    publish_on = LocalDateTimeField("Publish On", tz_name="America/New_York")


def test_wall_clock_input_becomes_aware_utc():
    form = Period(MultiDict({"publish_on": "2026-12-01T09:00"}))
    assert form.validate()
    assert form.publish_on.data == datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)


def test_nonexistent_time_is_a_field_error_that_says_so():
    form = Period(MultiDict({"publish_on": "2026-03-08T02:30"}))
    assert not form.validate()
    assert "does not exist" in form.publish_on.errors[0]
    assert form.publish_on._value() == "2026-03-08T02:30"  # what the user typed stays in the box


def _message_form(app, **values):
    data = {"title": "Spring", "type": "popup", "audience": "all", **values}
    with app.test_request_context(method="POST", data=data):
        form = MessageForm(meta={"csrf": False})
        form.validate()
        return form


@pytest.mark.parametrize("expires_on", ["2026-12-01T09:00", "2026-11-30T09:00"])
def test_expires_on_not_after_publish_on_is_refused(app, expires_on):
    form = _message_form(app, publish_on="2026-12-01T09:00", expires_on=expires_on)
    assert form.expires_on.errors == ["Expires On must be after Publish On."]


def test_expires_on_after_publish_on_is_accepted(app):
    form = _message_form(app, publish_on="2026-12-01T09:00", expires_on="2026-12-01T09:01")
    assert form.expires_on.errors == []


def test_with_publish_now_expires_on_must_be_in_the_future(app):
    form = _message_form(app, publish_now="y", expires_on="2020-01-01T09:00")
    assert form.expires_on.errors == ["Expires On must be after Publish On."]


@pytest.mark.parametrize("value", ["0", "-3", str(2**31), "99999999999999999999"])
def test_an_id_no_row_can_have_is_a_field_error_not_a_query(value):
    with pytest.raises(ValueError):
        database_id(value)
    assert database_id(str(2**31 - 1)) == 2**31 - 1


def test_chosen_customers_with_none_left_is_an_audience_error(app):
    form = _message_form(app, publish_now="y", expires_on="2031-01-01T09:00", audience="chosen")
    assert form.audience.errors == ["Choose at least one customer, or send it to all customers."]
    assert _message_form(app, publish_now="y", expires_on="2031-01-01T09:00", audience="all").audience.errors == []


def test_picked_ids_are_read_once_each_and_a_non_id_is_a_field_error(app):
    class Picked(Form):
        customers = IdListField("Customers")

    assert Picked(MultiDict([("customers", "7"), ("customers", "3"), ("customers", "7")])).customers.data == [3, 7]
    form = Picked(MultiDict([("customers", "7"), ("customers", "rose")]))
    assert not form.validate() and form.customers.errors == ["Choose customers from the list."]


def test_a_like_pattern_takes_wildcards_as_typed():
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"
