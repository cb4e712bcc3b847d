"""The figures that say whether email flows: read from the database when asked.

Shared by the metrics scrape and the operator page, so both say the same thing. Only the
states an operator acts on are counted (pending, sending, failed): they go through the
(status, enqueued_at) index, while counting every email ever sent would scan the whole
table on each scrape (the worker's dramatiq metrics count sends as they happen).
"""
from sqlalchemy import func, select

from komet.clock import utcnow
from komet.extensions import db
from komet.models import Email, EmailStatus
from komet.ops import heartbeats

COUNTED_STATES = (EmailStatus.PENDING, EmailStatus.SENDING, EmailStatus.FAILED)
UNSENT_STATES = (EmailStatus.PENDING, EmailStatus.SENDING)


def email_counts():
    """{state: how many emails are in it} for the counted states (0 included)."""
    rows = db.session.execute(select(Email.status, func.count()).where(Email.status.in_(COUNTED_STATES))
                              .group_by(Email.status)).all()
    counts = {state.value: 0 for state in COUNTED_STATES}
    counts.update({EmailStatus(status).value: n for status, n in rows})
    return counts


def oldest_unsent_age(now=None):
    """Seconds the oldest email not yet sent has waited since it was written (0 when none)."""
    now = now or utcnow()
    oldest = db.session.scalar(select(func.min(Email.created_at)).where(Email.status.in_(UNSENT_STATES)))
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # func.min drops the column type on SQLite: the value is naive UTC
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - oldest).total_seconds())


def snapshot(now=None):
    """Everything the operator page and the metrics show, read at one moment."""
    now = now or utcnow()
    return {"emails": email_counts(), "oldest_unsent_age": oldest_unsent_age(now),
            "processes": heartbeats.by_role(heartbeats.processes(now)), "now": now}


VERBS = {heartbeats.WORKER: "checked in", heartbeats.SCHEDULER: "finished a sweep"}


def is_stuck(process, heartbeat_stale):
    """Silent past the line, or known to have ended (its pid is gone on this host)."""
    return process.ended or process.age > heartbeat_stale


def verdicts(figures, heartbeat_stale, email_stale):
    """[(part, stuck, what to say)] from `snapshot()`: each stuck process by name, a role none
    of whose processes ever beat, a role whose processes all work, then email."""
    said = []
    for role, processes in figures["processes"].items():
        verb = VERBS.get(role, "checked in")
        stuck = [p for p in processes if is_stuck(p, heartbeat_stale)]
        if not processes:
            said.append((role, True, f"The {role} has never {verb}."))
        elif stuck:
            said += [(role, True, f"{p.name} is stuck: {'its process has ended; ' if p.ended else ''}"
                                  f"it last {verb} {p.age:.0f} s ago.") for p in stuck]
        else:
            age = max(p.age for p in processes)
            if len(processes) == 1:
                said.append((role, False, f"The {role} is working (last {age:.0f} s ago)."))
            else:
                said.append((role, False, f"All {len(processes)} {role}s are working (last {age:.0f} s ago at most)."))
    oldest = figures["oldest_unsent_age"]
    if oldest > email_stale:
        said.append(("email", True, f"Email is stuck: the oldest unsent email has waited {oldest:.0f} s."))
    else:
        said.append(("email", False, f"Email flows (oldest unsent: {oldest:.0f} s)."))
    return said
