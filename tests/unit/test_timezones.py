from datetime import datetime, timezone

import pytest

from komet import timezones

NY = "America/New_York"


def test_winter_wall_time_is_stored_as_utc_five_hours_later():
    assert timezones.to_utc(datetime(2026, 1, 15, 9, 0), NY) == datetime(2026, 1, 15, 14, 0, tzinfo=timezone.utc)


def test_summer_wall_time_is_stored_as_utc_four_hours_later():
    assert timezones.to_utc(datetime(2026, 7, 1, 9, 0), NY) == datetime(2026, 7, 1, 13, 0, tzinfo=timezone.utc)


def test_spring_forward_gap_time_is_refused_with_a_message_that_says_so():
    with pytest.raises(timezones.NonexistentTimeError) as error:
        timezones.to_utc(datetime(2026, 3, 8, 2, 30), NY)
    assert "does not exist" in str(error.value)
    assert "Mar 8, 2026 2:30 AM" in str(error.value)


def test_fall_back_repeated_time_takes_the_first_occurrence():
    # 01:30 happens twice on 2026-11-01: first in EDT (UTC-4), then in EST (UTC-5).
    assert timezones.to_utc(datetime(2026, 11, 1, 1, 30), NY) == datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)


def test_times_are_shown_with_their_zone_abbreviation():
    winter = datetime(2026, 1, 15, 14, 5, tzinfo=timezone.utc)
    summer = datetime(2026, 7, 1, 13, 0, tzinfo=timezone.utc)
    assert timezones.format_local(winter, NY) == "Jan 15, 2026 9:05 AM EST"
    assert timezones.format_local(summer, NY) == "Jul 1, 2026 9:00 AM EDT"


def test_another_company_zone_is_used_when_given():
    moment = datetime(2026, 1, 15, 14, 0, tzinfo=timezone.utc)
    assert timezones.format_local(moment, "America/Chicago") == "Jan 15, 2026 8:00 AM CST"


def test_input_value_round_trips_through_to_utc():
    moment = datetime(2026, 11, 23, 17, 45, tzinfo=timezone.utc)
    shown = timezones.input_value(moment, NY)
    assert shown == "2026-11-23T12:45"
    assert timezones.to_utc(timezones.parse_input(shown), NY) == moment


def test_garbage_input_parses_to_none():
    assert timezones.parse_input("next tuesday") is None
