"""Entry point of the scheduler process: `python -m workers.scheduler`.

Jobs are sweeps over database state made of conditional updates, so two schedulers (two
machines, or an overlap during a deploy) never do the same transition twice, and a
missed run is simply caught up by the next one.
"""
import logging
import signal
import sys
import time

from apscheduler.schedulers.blocking import BlockingScheduler
from prometheus_client import Counter, start_http_server

from komet.accounts import sessions, two_step
from komet.mail import outbox
from komet.messages import schedule
from komet.ops import heartbeats

log = logging.getLogger("komet.scheduler")

SWEEPS = Counter("komet_scheduler_sweeps_total", "Scheduler sweeps run, by job and outcome (ok, error).",
                 ["job", "outcome"])
TRANSITIONS = Counter("komet_scheduler_transitions_total",
                      "Rows a sweep moved on (emails re-driven, messages started or ended), by job.", ["job"])

# Interval sweeps (SCHEDULER_INTERVAL_SECONDS), not cron: cron fires twice on fall-back day.
JOBS = [outbox.redrive, schedule.sweep, heartbeats.forget_stopped, sessions.forget_idle,
        two_step.forget_expired_devices]


class Sweeps:
    """When each sweep last finished, so that the beat between sweeps says "working" only while
    none is overdue: a sweep that keeps failing, or hangs, stops the beat."""

    def __init__(self, jobs, overdue_after):
        self.overdue_after = overdue_after
        now = time.monotonic()
        self.finished = {job.__name__: now for job in jobs}  # start: none is overdue yet
        self.said = "started"

    def done(self, name, said):
        self.finished[name] = time.monotonic()
        self.said = said

    def overdue(self):
        now = time.monotonic()
        return sorted(name for name, at in self.finished.items() if now - at > self.overdue_after)


def _in_app_context(app, job, sweeps=None):
    def run():
        with app.app_context():
            try:
                result = job()
                SWEEPS.labels(job.__name__, "ok").inc()
                if isinstance(result, int):
                    TRANSITIONS.labels(job.__name__).inc(result)
                if result:
                    log.info("%s: %s", job.__name__, result)
                said = f"{job.__name__}: {result or 'nothing to do'}"
                if sweeps is not None:
                    sweeps.done(job.__name__, said)
                # Only a sweep that finished counts: a scheduler whose sweeps all fail is stuck.
                heartbeats.beat(heartbeats.SCHEDULER, said)
            except Exception:
                SWEEPS.labels(job.__name__, "error").inc()
                log.exception("%s failed; it runs again at the next interval", job.__name__)
                raise

    run.__name__ = job.__name__
    return run


def _beat_between_sweeps(app, sweeps):
    """Beat every SCHEDULER_HEARTBEAT_SECONDS while every sweep finished lately, so a scheduler
    that stopped shows within OPS_HEARTBEAT_STALE_SECONDS whatever the sweeps' interval."""
    def beat():
        overdue = sweeps.overdue()
        if overdue:
            log.warning("no heartbeat: %s has not finished for %.0fs", ", ".join(overdue), sweeps.overdue_after)
            return
        with app.app_context():
            heartbeats.beat(heartbeats.SCHEDULER, sweeps.said)

    return beat


def build_scheduler(app):
    scheduler = BlockingScheduler(timezone="UTC")
    seconds = app.config["SCHEDULER_INTERVAL_SECONDS"]
    beat_every = app.config["SCHEDULER_HEARTBEAT_SECONDS"]
    # A sweep may fail once (a database blip) and catch up at its next run without the
    # scheduler being called stuck; one that misses two runs is.
    sweeps = Sweeps(JOBS, overdue_after=2 * seconds + beat_every)
    for job in JOBS:
        scheduler.add_job(_in_app_context(app, job, sweeps), "interval", seconds=seconds, id=job.__name__,
                          name=job.__name__, coalesce=True, max_instances=1, misfire_grace_time=max(1, int(seconds)))
    scheduler.add_job(_beat_between_sweeps(app, sweeps), "interval", seconds=beat_every, id="heartbeat",
                      name="heartbeat", coalesce=True, max_instances=1, misfire_grace_time=max(1, int(beat_every)))
    return scheduler


def serve_metrics(host, port):
    """Serve this process's metrics on host:port (port 0: not at all); True if they are served.
    A port already taken (a second scheduler on the host) is a warning: scheduling goes on."""
    if not port:
        return False
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("scheduler metrics not served on %s:%s (%s); is another scheduler on this host serving "
                    "them? Set SCHEDULER_METRICS_PORT", host, port, exc)
        return False
    log.info("scheduler metrics on http://%s:%s/metrics", host, port)
    return True


def main():
    from komet import create_app

    app = create_app()  # sets up the broker: the re-drive enqueues through it
    # APScheduler logs two INFO lines per job run (16 a minute with four sweeps): the sweeps'
    # own lines say what changed, its warnings (missed runs) and errors still show.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    scheduler = build_scheduler(app)
    serve_metrics(app.config["SCHEDULER_METRICS_HOST"], app.config["SCHEDULER_METRICS_PORT"])
    with app.app_context():
        heartbeats.replace_dead(heartbeats.SCHEDULER)  # a restart takes over from a scheduler that died

    def stop(signum, frame):
        log.info("scheduler stopping (signal %s)", signum)
        scheduler.shutdown(wait=True)  # a sweep still running must not beat after the row is gone

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started: %s every %ss", ", ".join(j.__name__ for j in JOBS),
             app.config["SCHEDULER_INTERVAL_SECONDS"])
    scheduler.start()
    with app.app_context():  # stopped cleanly (a deploy): its silence from now on is no news
        heartbeats.forget(heartbeats.SCHEDULER)
    return 0


if __name__ == "__main__":
    sys.exit(main())
