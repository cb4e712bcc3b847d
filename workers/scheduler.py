"""Entry point of the scheduler process: `python -m workers.scheduler`.

Jobs are sweeps over database state made of conditional updates, so two schedulers (two
machines, or an overlap during a deploy) never do the same transition twice, and a
missed run is simply caught up by the next one.
"""
import logging
import signal
import sys

from apscheduler.schedulers.blocking import BlockingScheduler

from komet import messages, outbox

log = logging.getLogger("komet.scheduler")

# (job, seconds between runs). Interval sweeps, not cron: cron fires twice on fall-back day.
JOBS = [
    (outbox.redrive, 30),
    (messages.publish_due, 30),
    (messages.expire_due, 30),
]


def _in_app_context(app, job):
    def run():
        with app.app_context():
            try:
                result = job()
                if result:
                    log.info("%s: %s", job.__name__, result)
            except Exception:
                log.exception("%s failed; it runs again at the next interval", job.__name__)
                raise

    run.__name__ = job.__name__
    return run


def build_scheduler(app):
    scheduler = BlockingScheduler(timezone="UTC")
    for job, seconds in JOBS:
        scheduler.add_job(_in_app_context(app, job), "interval", seconds=seconds, id=job.__name__, name=job.__name__,
                          coalesce=True, max_instances=1, misfire_grace_time=seconds)
    return scheduler


def main():
    from komet import create_app

    app = create_app()
    import workers.emails  # noqa: F401  (the re-drive enqueues through the actor)

    scheduler = build_scheduler(app)

    def stop(signum, frame):
        log.info("scheduler stopping (signal %s)", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started: %s", ", ".join(f"{j.__name__} every {s}s" for j, s in JOBS))
    scheduler.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
