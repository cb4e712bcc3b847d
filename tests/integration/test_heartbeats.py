"""Heartbeats: the worker and the scheduler record when they last did their work."""
import time
from datetime import timedelta

import dramatiq
import pytest

from komet.clock import utcnow
from komet.ops import heartbeats
from workers.middleware import HeartbeatMiddleware
from workers.scheduler import _in_app_context


def test_a_beat_is_one_row_per_process_and_its_age_grows(app):
    with app.app_context():
        assert heartbeats.ages() == {"worker": None, "scheduler": None}
        then = utcnow() - timedelta(seconds=90)
        heartbeats.beat("worker", "first", now=then)
        heartbeats.beat("worker", "second", now=then)
        ages = heartbeats.ages(now=then + timedelta(seconds=30))
        assert ages == {"worker": 30.0, "scheduler": None}
        assert heartbeats.last_beats()["worker"].detail == "second"


def test_a_worker_with_a_message_in_hand_too_long_does_not_beat(app, monkeypatch):
    monkeypatch.setitem(app.config, "WORKER_STUCK_AFTER_SECONDS", 60)
    middleware = HeartbeatMiddleware(app)
    middleware._started["blocked-on-smtp"] = time.monotonic() - 61
    assert middleware.beat_once() is False
    middleware._started["blocked-on-smtp"] = time.monotonic() - 5  # slow but not stuck
    assert middleware.beat_once() is True
    with app.app_context():
        assert heartbeats.last_beats()["worker"].detail.startswith("1 in hand")


def test_an_idle_running_worker_beats(app, monkeypatch):
    monkeypatch.setitem(app.config, "WORKER_HEARTBEAT_SECONDS", 0.05)
    broker = dramatiq.get_broker()
    middleware = HeartbeatMiddleware(app)
    broker.add_middleware(middleware)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    try:
        worker.start()
        deadline = time.monotonic() + 10
        with app.app_context():
            while heartbeats.ages()["worker"] is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert heartbeats.ages()["worker"] is not None
    finally:
        worker.stop()
        broker.middleware.remove(middleware)


def test_the_scheduler_beats_after_each_sweep_that_finished(app):
    def sweep():
        return 3

    def broken():
        raise RuntimeError("database away")

    with pytest.raises(RuntimeError):
        _in_app_context(app, broken)()
    with app.app_context():
        assert heartbeats.ages()["scheduler"] is None
    _in_app_context(app, sweep)()
    with app.app_context():
        assert heartbeats.last_beats()["scheduler"].detail == "sweep: 3"
        assert heartbeats.ages()["scheduler"] < 60
