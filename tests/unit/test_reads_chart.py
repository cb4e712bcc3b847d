"""The who-read chart's bars: local days (DST included), wider bars for long messages, shares."""
from datetime import date, datetime, timedelta, timezone

from komet.messages.readers import buckets, edges, series

NY = "America/New_York"


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_a_bar_per_local_day_from_the_publish_day_to_now():
    # 03:30 UTC on Nov 3 is still Nov 2 in New York: the first bar is Nov 2, not Nov 3.
    unit, starts = buckets(utc(2026, 11, 3, 3, 30), utc(2026, 11, 5, 15, 0), NY)
    assert unit == "day" and starts == [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5)]


def test_local_days_are_25_hours_long_when_clocks_fall_back_and_23_when_they_spring_forward():
    fall = edges([date(2026, 11, 1), date(2026, 11, 2)], NY)
    assert fall == [utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)]  # midnight EDT, then midnight EST
    spring = edges([date(2026, 3, 8), date(2026, 3, 9)], NY)
    assert spring == [utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)]


def test_a_read_at_half_past_eleven_at_night_in_new_york_is_on_that_day_not_the_next():
    # The query puts a read in bar i when edges[i] <= read < edges[i + 1]; check the edges do.
    nov1, nov2 = edges([date(2026, 11, 1), date(2026, 11, 2)], NY)
    late_on_nov1, early_on_nov2 = utc(2026, 11, 2, 4, 30), utc(2026, 11, 2, 5, 30)
    assert nov1 <= late_on_nov1 < nov2 <= early_on_nov2


def test_sixty_days_draw_sixty_daily_bars():
    unit, starts = buckets(utc(2026, 1, 1, 15), utc(2026, 1, 1, 15) + timedelta(days=59), NY)
    assert unit == "day" and len(starts) == 60


def test_a_message_running_a_year_draws_weekly_bars_from_the_publish_day():
    unit, starts = buckets(utc(2026, 1, 1, 15), utc(2026, 12, 31, 15), NY)
    assert unit == "week" and len(starts) == 53
    assert starts[:2] == [date(2026, 1, 1), date(2026, 1, 8)]


def test_a_message_running_longer_than_sixty_weeks_draws_monthly_bars():
    unit, starts = buckets(utc(2026, 1, 20, 15), utc(2027, 6, 2, 15), NY)
    assert unit == "month" and starts[0] == date(2026, 1, 1) and starts[-1] == date(2027, 6, 1)
    assert len(starts) == 18


def test_a_message_seen_so_far_only_on_its_publish_day_draws_one_bar():
    unit, starts = buckets(utc(2026, 7, 1, 13), utc(2026, 7, 1, 14), NY)
    assert (unit, starts) == ("day", [date(2026, 7, 1)])


def test_series_adds_up_readers_and_their_share_of_the_audience():
    starts = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    chart = series("day", starts, {0: 3, 2: 1}, audience=8)
    assert [(b.label, b.readers, b.so_far, b.share) for b in chart.bars] == [
        ("Nov 1", 3, 3, 0.375), ("Nov 2", 0, 3, 0.375), ("Nov 3", 1, 4, 0.5)]
    assert chart.peak == 3 and chart.busiest.label == "Nov 1"


def test_an_empty_audience_has_no_share_and_weeks_are_labelled_by_their_first_day():
    chart = series("week", [date(2026, 1, 1)], {0: 2}, audience=0)
    assert chart.bars[0].share is None and chart.bars[0].label == "Week of Jan 1"
