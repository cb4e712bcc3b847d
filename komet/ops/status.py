"""The figures that say whether email flows: read from the database when asked.

Shared by the metrics scrape and the operator page, so both say the same thing. Only the
states an operator acts on are counted (pending, sending, failed): they go through the
(status, enqueued_at) index, while counting every email ever sent would scan the whole
table on each scrape (the worker's dramatiq metrics count sends as they happen).
"""
from sqlalchemy import func, select

from komet.clock import utcnow
from komet.extensions import db
from komet.mail.outbox import retry_delay
from komet.models import Email, EmailStatus
from komet.ops import heartbeats

COUNTED_STATES = (EmailStatus.PENDING, EmailStatus.SENDING, EmailStatus.FAILED)
# SMTP failing an email this long (refused or silent, not a temporary refusal) is stuck: the
# operator page says so and KometEmailStuck fires a minute later (ops/prometheus/komet.rules.yml).
SMTP_STUCK_SECONDS = 45
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


def _naive_utc(value, now):
    if value is not None and value.tzinfo is None:  # func.min drops the column type on SQLite
        value = value.replace(tzinfo=now.tzinfo)
    return value


def smtp_failing(now=None):
    """(seconds the SMTP server has failed an unsent email without being reached, its last
    error), (0, None) when no unsent email failed that way. Refused or timed-out connections:
    the server is down or silent, which no retry will fix by itself."""
    now = now or utcnow()
    row = db.session.execute(
        select(Email.failing_since, Email.last_error).where(Email.status.in_(UNSENT_STATES),
                                                             Email.failing_since.is_not(None))
        .order_by(Email.failing_since).limit(1)).first()
    if row is None:
        return 0.0, None
    return max(0.0, (now - _naive_utc(row.failing_since, now)).total_seconds()), row.last_error


def retries_waiting(now=None, look_at=100):
    """(how many emails wait for their next try after a temporary refusal, when the next try is
    due), (0, None) when none: the server answered, only not yet for these."""
    rows = db.session.execute(
        select(Email.enqueued_at, Email.attempts).where(
            Email.status == EmailStatus.PENDING, Email.attempts > 0, Email.failing_since.is_(None),
            Email.last_error.is_not(None)).order_by(Email.enqueued_at).limit(look_at)).all()
    if not rows:
        return 0, None
    return len(rows), min(_naive_utc(r.enqueued_at, now or utcnow()) + retry_delay(r.attempts) for r in rows)


def snapshot(now=None):
    """Everything the operator page and the metrics show, read at one moment."""
    now = now or utcnow()
    failing, error = smtp_failing(now)
    waiting, next_try = retries_waiting(now)
    return {"emails": email_counts(), "oldest_unsent_age": oldest_unsent_age(now),
            "smtp_failing_age": failing, "smtp_error": error, "retries_waiting": waiting, "next_retry_at": next_try,
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
    said.append(_email_verdict(figures, email_stale))
    return said


def _email_verdict(figures, email_stale):
    oldest, failing = figures["oldest_unsent_age"], figures.get("smtp_failing_age", 0.0)
    if failing > SMTP_STUCK_SECONDS:
        error = (figures.get("smtp_error") or "").splitlines()[0][:200] if figures.get("smtp_error") else ""
        return ("email", True, (f"Email is stuck: the SMTP server refuses or does not answer (for {failing:.0f} s; "
                                f"last error: {error})."))
    if oldest > email_stale:
        return ("email", True, f"Email is stuck: the oldest unsent email has waited {oldest:.0f} s.")
    if figures.get("retries_waiting"):
        n, at = figures["retries_waiting"], figures["next_retry_at"]
        return ("email", False, (f"Email flows; {n} email{'s' if n != 1 else ''} wait{'' if n != 1 else 's'} for "
                                 f"{'their' if n != 1 else 'its'} next try after a temporary refusal, the next at "
                                 f"{at.strftime('%H:%M:%S')} UTC."))
    return ("email", False, f"Email flows (oldest unsent: {oldest:.0f} s).")
