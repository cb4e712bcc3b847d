"""Heartbeats: each background process records when it last did its work.

A beat means "working", not merely "running": the scheduler beats after a sweep that
succeeded, and the worker beats only while none of its threads has been on one message for
longer than WORKER_STUCK_AFTER_SECONDS, so a thread blocked on a silent SMTP server stops
the beat even though the process is up. The operator page and the metrics turn the rows
into ages; an age past the alert threshold names the part that is stuck.
"""
from sqlalchemy import select, update

from komet.clock import utcnow
from komet.extensions import db
from komet.models import Heartbeat

WORKER = "worker"
SCHEDULER = "scheduler"
PROCESSES = (WORKER, SCHEDULER)


def beat(process, detail="", now=None):
    """Record that `process` did its work now (its own transaction, committed)."""
    now = now or utcnow()
    detail = detail[:200]
    done = db.session.execute(update(Heartbeat).where(Heartbeat.process == process)
                              .values(beat_at=now, detail=detail)).rowcount
    if not done:
        db.session.add(Heartbeat(process=process, beat_at=now, detail=detail))
    try:
        db.session.commit()
    except Exception:  # two processes of one role wrote the first row at once: theirs will do
        db.session.rollback()


def last_beats():
    """{process: Heartbeat or None} for every known process role."""
    rows = {row.process: row for row in db.session.scalars(select(Heartbeat))}
    return {name: rows.get(name) for name in PROCESSES}


def ages(now=None):
    """{process: seconds since its last beat, or None if it never beat}."""
    now = now or utcnow()
    return {name: (now - row.beat_at).total_seconds() if row else None for name, row in last_beats().items()}
