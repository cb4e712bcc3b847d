from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from komet.messages.buyers import apply_window_rule
from komet.messages.schedule import status_at
from komet.models import MessageStatus, MessageType

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def message(id, type=MessageType.POPUP, publish_on=NOW - HOUR, expires_on=NOW + HOUR):
    return SimpleNamespace(id=id, type=type, publish_on=publish_on, expires_on=expires_on)


def test_status_is_draft_before_publish_on():
    assert status_at(message(1, publish_on=NOW + HOUR, expires_on=NOW + 2 * HOUR), NOW) == MessageStatus.DRAFT


def test_status_is_published_from_publish_on_until_expires_on():
    assert status_at(message(1, publish_on=NOW), NOW) == MessageStatus.PUBLISHED


def test_status_is_expired_from_expires_on():
    assert status_at(message(1, expires_on=NOW), NOW) == MessageStatus.EXPIRED


def test_first_window_shows_as_a_window():
    shown = apply_window_rule([message(1, MessageType.POPUP), message(2, MessageType.WINDOW)])
    assert [s.as_window for s in shown] == [False, True]


def test_second_window_in_same_period_shows_as_popup():
    shown = apply_window_rule([message(1, MessageType.WINDOW), message(2, MessageType.WINDOW)])
    assert [s.as_window for s in shown] == [True, False]


def test_popups_never_become_windows():
    shown = apply_window_rule([message(1), message(2)])
    assert not any(s.as_window for s in shown)


def test_read_messages_are_marked_read():
    shown = apply_window_rule([message(1), message(2)], read_ids={2})
    assert [s.read for s in shown] == [False, True]
