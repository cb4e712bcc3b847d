"""The one time module: UTC is stored, the company's wall-clock time is shown and typed.

Forms give a naive wall-clock time in the company's zone; `to_utc` turns it into an aware
UTC datetime. A time skipped by a spring-forward change does not exist and is refused;
a time repeated by a fall-back change takes its first occurrence.
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from komet.models.accounts import DEFAULT_TIMEZONE


class NonexistentTimeError(ValueError):
    """The wall-clock time was skipped by a daylight-saving change."""


def zone(name):
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def to_utc(wall_time, tz_name):
    """Aware UTC datetime for a naive wall-clock time in `tz_name`."""
    tz = zone(tz_name)
    local = wall_time.replace(tzinfo=tz, fold=0)  # fold=0: the first of a repeated hour
    utc = local.astimezone(timezone.utc)
    if utc.astimezone(tz).replace(tzinfo=None) != wall_time.replace(tzinfo=None):
        raise NonexistentTimeError(
            f"{wall_time:%b %-d, %Y %-I:%M %p} does not exist in {tz_name}: "
            "clocks skip that hour when daylight saving time starts. Choose a time outside it."
        )
    return utc


def to_local(moment, tz_name):
    """The aware UTC `moment` as the company's wall-clock time (aware, in its zone)."""
    return moment.astimezone(zone(tz_name))


def format_local(moment, tz_name, with_zone=True):
    """E.g. "Nov 23, 2026 9:05 AM EST"; an empty string for no time."""
    if moment is None:
        return ""
    local = to_local(moment, tz_name)
    text = f"{local:%b} {local.day}, {local.year} {local:%-I:%M %p}"
    return f"{text} {local.tzname()}" if with_zone else text


def zone_abbreviation(tz_name, at):
    """EST or EDT (or the zone's own) in force at the aware moment `at`."""
    return to_local(at, tz_name).tzname()


def input_value(moment, tz_name):
    """The value a `datetime-local` input shows for `moment`."""
    if moment is None:
        return ""
    return to_local(moment, tz_name).strftime("%Y-%m-%dT%H:%M")


def parse_input(value):
    """A naive datetime from a `datetime-local` input value, or None if it is not one."""
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    return None
