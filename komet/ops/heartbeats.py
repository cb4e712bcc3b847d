"""Heartbeats: each background process records when it last did its work, in a row of its own.

A beat means "working", not merely "running": the scheduler beats after a sweep that
succeeded, and the worker beats only while none of its threads has been on one message for
longer than WORKER_STUCK_AFTER_SECONDS, so a thread blocked on a silent SMTP server stops
the beat even though the process is up. The operator page and the metrics turn the rows
into ages; an age past the alert threshold names the process that is stuck.

A row is per process (role, host, pid), so a stuck worker is not hidden by a healthy one.
Rows of processes that are gone are cleared three ways, none of which hides a process that
stopped recently without being replaced: a process that stops cleanly deletes its own row
(a deploy raises no alert); a process that starts deletes the rows of dead processes of its
role on its host (a restarted worker replaces the one that crashed); and the scheduler
forgets rows older than OPS_HEARTBEAT_FORGET_SECONDS (a day), which readers ignore too. An
operator can forget a process gone for good at once, from the operator page (audited).
"""
import functools
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from blinker import Namespace
from flask import current_app
from sqlalchemy import delete, select, update

from komet import audit
from komet.clock import utcnow
from komet.extensions import db
from komet.models import Heartbeat

WORKER = "worker"
SCHEDULER = "scheduler"
PROCESSES = (WORKER, SCHEDULER)


# Work a thread did without a commit of the ORM session (an email marked sent on a connection
# of its own): the worker's heartbeat counts it as that thread's progress, as it does a commit.
progress = Namespace().signal("progress")


def progressed():
    progress.send()


@dataclass(frozen=True)
class Process:
    """One process's last beat, as the operator page and the metrics show it."""
    role: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime
    detail: str
    age: float  # seconds since beat_at
    id: int = 0  # its row's, for the operator's "Forget this process"
    ended: bool = False  # its pid is gone, as seen from this host (see `processes`)

    @property
    def name(self):
        return f"{self.role.capitalize()} {self.pid} on {self.host}"


def this_process():
    """(host, pid) of the running process: the key of its row with its role."""
    return socket.gethostname(), os.getpid()


@functools.cache
def pid_namespace():
    """This process's PID namespace on Linux ("pid:[4026531836]"), else None: two processes of
    one host see each other's pids only when it is the same (containers each have their own)."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _own(role, host, pid):
    return (Heartbeat.role == role, Heartbeat.host == host, Heartbeat.pid == pid)


def beat(role, detail="", now=None, host=None, pid=None, namespace=None):
    """Record that this process (or `host`/`pid`, in PID `namespace`) did its work as `role`
    now (its own transaction)."""
    now = now or utcnow()
    detail = detail[:200]
    if host is None or pid is None:
        (host, pid), namespace = this_process(), pid_namespace()
    done = db.session.execute(update(Heartbeat).where(*_own(role, host, pid))
                              .values(beat_at=now, detail=detail, pid_namespace=namespace)).rowcount
    if not done:
        db.session.add(Heartbeat(role=role, host=host, pid=pid, started_at=now, beat_at=now, detail=detail,
                                 pid_namespace=namespace))
    try:
        db.session.commit()
    except Exception:  # two threads of this process (two scheduler jobs) wrote its first row at once
        db.session.rollback()


def forget(role, host=None, pid=None):
    """Delete this process's row: it stops cleanly, so its silence is no news."""
    if host is None or pid is None:
        host, pid = this_process()
    db.session.execute(delete(Heartbeat).where(*_own(role, host, pid)))
    db.session.commit()


def replace_dead(role):
    """Delete the rows of `role` on this host whose process is gone: a process that starts
    replaces the one that crashed. Processes of other hosts are left alone (we cannot tell)."""
    host, pid = this_process()
    rows = db.session.execute(select(Heartbeat.id, Heartbeat.pid, Heartbeat.pid_namespace).where(
        Heartbeat.role == role, Heartbeat.host == host, Heartbeat.pid != pid)).all()
    # A row of another PID namespace (another container of the same name) is not ours to judge.
    dead = [row.id for row in rows if row.pid_namespace in (None, pid_namespace()) and not alive(row.pid)]
    if dead:
        db.session.execute(delete(Heartbeat).where(Heartbeat.id.in_(dead)))
    db.session.commit()
    return len(dead)


def alive(pid):
    """Whether process `pid` of this host still runs (a zombie does not; another user's does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    try:  # killed but not yet reaped (a zombie) is gone too
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _forget_before(now):
    return now - timedelta(seconds=current_app.config["OPS_HEARTBEAT_FORGET_SECONDS"])


def forget_stopped(now=None):
    """Delete the rows of processes silent for longer than OPS_HEARTBEAT_FORGET_SECONDS (a
    scheduler sweep; idempotent); returns how many went."""
    gone = db.session.execute(delete(Heartbeat).where(Heartbeat.beat_at < _forget_before(now or utcnow()))).rowcount
    db.session.commit()
    return gone


def processes(now=None):
    """[Process] for every process not yet forgotten, by role, host and pid.

    A process of this host and PID namespace whose pid is gone is `ended` at once, without
    waiting for its beat to go stale; of any other process only the age tells."""
    now = now or utcnow()
    rows = db.session.scalars(select(Heartbeat).where(Heartbeat.beat_at >= _forget_before(now))
                              .order_by(Heartbeat.role, Heartbeat.host, Heartbeat.pid)).all()
    return [_process(row, now) for row in rows]


def _process(row, now):
    here = row.host == socket.gethostname() and row.pid_namespace is not None and row.pid_namespace == pid_namespace()
    return Process(row.role, row.host, row.pid, row.started_at, row.beat_at, row.detail,
                   max(0.0, (now - row.beat_at).total_seconds()), row.id, ended=here and not alive(row.pid))


def forget_by_id(heartbeat_id, now=None):
    """An operator forgets a process gone for good (its machine too): its row goes at once
    instead of alerting for OPS_HEARTBEAT_FORGET_SECONDS, and the audit log says who did it.
    Returns the Process forgotten, or None when there is no such row."""
    row = db.session.get(Heartbeat, heartbeat_id)
    if row is None:
        return None
    process = _process(row, now or utcnow())
    db.session.delete(row)
    audit.record_platform("process_forgotten", f"{process.name} (last heartbeat {process.age:.0f} s ago)")
    db.session.commit()
    return process


def by_role(processes_):
    """{role: [Process]} for every known role (an empty list: none has ever beaten)."""
    grouped = {role: [] for role in PROCESSES}
    for process in processes_:
        grouped.setdefault(process.role, []).append(process)
    return grouped
