"""Heartbeats: each worker and scheduler process records when it last did its work."""
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import dramatiq
from dramatiq.brokers.stub import StubBroker
import pytest
from sqlalchemy import select

from komet.clock import utcnow
from komet.extensions import db
from komet.ops import heartbeats
from tests.faults import wait_until
from workers.middleware import AppContextMiddleware, HeartbeatMiddleware
from workers.scheduler import JOBS, Sweeps, _beat_between_sweeps, _in_app_context


def ages(app, **kwargs):
    """{(role, host, pid): age} of every process the page and the metrics show."""
    with app.app_context():
        return {(p.role, p.host, p.pid): p.age for p in heartbeats.processes(**kwargs)}


def this(role):
    return (role, *heartbeats.this_process())


def test_a_beat_is_one_row_per_process_and_its_age_grows(app):
    assert ages(app) == {}
    then = utcnow() - timedelta(seconds=90)
    with app.app_context():
        heartbeats.beat("worker", "first", now=then)
        heartbeats.beat("worker", "second", now=then)
        heartbeats.beat("worker", "other", now=then + timedelta(seconds=20), host="host-b", pid=77)
        processes = heartbeats.by_role(heartbeats.processes(now=then + timedelta(seconds=30)))
    assert ages(app, now=then + timedelta(seconds=30)) == {this("worker"): 30.0, ("worker", "host-b", 77): 10.0}
    assert [p.detail for p in processes["worker"] if p.pid == os.getpid()] == ["second"]
    assert processes["scheduler"] == []


def test_a_process_long_silent_is_forgotten_and_a_recently_stopped_one_is_not(app):
    now = utcnow()
    with app.app_context():
        heartbeats.beat("worker", now=now - timedelta(days=2), host="gone-long-ago", pid=1)
        heartbeats.beat("worker", now=now - timedelta(minutes=10), host="stopped-lately", pid=2)
    assert set(ages(app, now=now)) == {("worker", "stopped-lately", 2)}  # ignored before it is deleted
    with app.app_context():
        assert heartbeats.forget_stopped(now=now) == 1
        assert heartbeats.forget_stopped(now=now) == 0
    assert set(ages(app, now=now)) == {("worker", "stopped-lately", 2)}
    assert heartbeats.forget_stopped in JOBS  # the scheduler sweeps them


def test_a_starting_process_replaces_dead_ones_of_its_role_on_its_host_only(app):
    host, _ = heartbeats.this_process()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with app.app_context():
            heartbeats.beat("worker", host=host, pid=dead.pid)
            heartbeats.beat("worker", host=host, pid=alive.pid)  # a sibling that is still running
            heartbeats.beat("scheduler", host=host, pid=dead.pid)  # another role: not ours to replace
            heartbeats.beat("worker", host="elsewhere", pid=dead.pid)  # another host: we cannot tell
            assert heartbeats.replace_dead("worker") == 1
    finally:
        alive.kill()
        alive.wait()
    assert set(ages(app)) == {("worker", host, alive.pid), ("scheduler", host, dead.pid),
                              ("worker", "elsewhere", dead.pid)}


def test_a_worker_busy_on_a_long_job_beats_and_one_wedged_on_a_message_does_not(app, monkeypatch):
    # A CSV import commits after every batch: busy, however long it runs. A send waiting on a
    # silent SMTP server commits nothing: after WORKER_STUCK_AFTER_SECONDS the beat stops.
    monkeypatch.setitem(app.config, "WORKER_HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setitem(app.config, "WORKER_STUCK_AFTER_SECONDS", 1)
    release = threading.Event()

    # A broker of its own: a worker another test left running on the shared stub broker would
    # take these messages without this middleware seeing them.
    broker = StubBroker()
    broker.add_middleware(AppContextMiddleware(app))

    @dramatiq.actor(actor_name="test_long_import", queue_name="test-heartbeats", broker=broker)
    def long_import():
        while not release.is_set():
            db.session.execute(select(1))
            db.session.commit()
            time.sleep(0.05)

    @dramatiq.actor(actor_name="test_wedged_send", queue_name="test-heartbeats", broker=broker)
    def wedged_send():
        release.wait(60)

    middleware = HeartbeatMiddleware(app)
    broker.add_middleware(middleware)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    try:
        worker.start()
        long_import.send()
        assert wait_until(lambda: _in_hand_for(middleware) > 3, timeout=30)  # three times the limit
        assert middleware.beat_once() is True
        with app.app_context():
            assert "1 in hand" in heartbeats.processes()[0].detail
        release.set()
        assert wait_until(lambda: _in_hand_for(middleware) == 0, timeout=30)

        release.clear()
        wedged_send.send()
        assert wait_until(lambda: middleware.beat_once() is False, timeout=30)
    finally:
        release.set()
        worker.stop()
        broker.close()


def _in_hand_for(middleware):
    """Seconds the message in hand has been there (0 when none)."""
    with middleware._lock:
        started = [entry[1] for entry in middleware._in_hand.values()]
    return time.monotonic() - min(started) if started else 0


def test_an_idle_running_worker_beats(app, monkeypatch):
    monkeypatch.setitem(app.config, "WORKER_HEARTBEAT_SECONDS", 0.05)
    broker = dramatiq.get_broker()
    middleware = HeartbeatMiddleware(app)
    broker.add_middleware(middleware)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    try:
        worker.start()
        deadline = time.monotonic() + 10
        while this("worker") not in ages(app) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert this("worker") in ages(app)
    finally:
        worker.stop()
        broker.middleware.remove(middleware)
    assert ages(app) == {}  # stopped cleanly: no row left to look stuck


def test_the_scheduler_beats_after_each_sweep_that_finished(app):
    def sweep():
        return 3

    def broken():
        raise RuntimeError("database away")

    with pytest.raises(RuntimeError):
        _in_app_context(app, broken)()
    assert ages(app) == {}
    _in_app_context(app, sweep)()
    assert ages(app)[this("scheduler")] < 60
    with app.app_context():
        assert [p.detail for p in heartbeats.processes()] == ["sweep: 3"]


def test_the_scheduler_beats_between_sweeps_until_one_is_overdue(app):
    def sweep():
        return 0

    sweeps = Sweeps([sweep], overdue_after=60)
    beat = _beat_between_sweeps(app, sweeps)
    beat()
    assert this("scheduler") in ages(app)  # at start, before any sweep ran
    _in_app_context(app, sweep, sweeps)()
    with app.app_context():
        heartbeats.forget(heartbeats.SCHEDULER)
    sweeps.finished["sweep"] -= 61  # it has failed (or hung) for two runs
    beat()
    assert ages(app) == {}
    _in_app_context(app, sweep, sweeps)()
    beat()
    with app.app_context():
        assert [p.detail for p in heartbeats.processes()] == ["sweep: nothing to do"]


def test_a_worker_ended_by_a_second_sigterm_deletes_its_row(app):
    # honcho, systemd and Heroku signal the process group: dramatiq's worker process gets
    # SIGTERM from the manager and from dramatiq's main process, and exits at the second.
    middleware = HeartbeatMiddleware(app)
    dramatiq_handler_calls = []
    original = signal.signal(signal.SIGTERM, lambda signum, frame: dramatiq_handler_calls.append(signum))
    try:
        middleware.forget_when_terminated()
        assert middleware.beat_once()
        handler = signal.getsignal(signal.SIGTERM)
        handler(signal.SIGTERM, None)
        assert this("worker") in ages(app)  # the first asks for a graceful stop, which forgets it later
        handler(signal.SIGTERM, None)
        assert ages(app) == {} and len(dramatiq_handler_calls) == 2
    finally:
        signal.signal(signal.SIGTERM, original)
