"""Liveness and readiness checks, cheap enough to be polled every few seconds.

Liveness says only that the process answers (a load balancer restarts it otherwise), so it
touches nothing. Readiness says the process can do useful work: the database answers and is
migrated to the code's head revision, and the broker that carries emails answers. One query
covers the database: reading `alembic_version` proves the connection and the schema at once.
"""
import functools
import logging

import dramatiq
from alembic.script import ScriptDirectory
from sqlalchemy import text

from config import BASE_DIR
from komet.extensions import db

log = logging.getLogger(__name__)


@functools.cache
def head_revisions():
    """The migration heads the code expects (read from migrations/ once per process)."""
    script = ScriptDirectory(str(BASE_DIR / "migrations"))
    return frozenset(script.get_heads())


def check_database():
    """None when the database answers at the head revision, else what is wrong."""
    try:
        rows = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception as exc:  # any driver error means "not ready", never a 500
        db.session.rollback()
        return f"database unreachable: {type(exc).__name__}"
    if frozenset(rows) != head_revisions():
        return f"migrations not at head: database {sorted(rows)}, code {sorted(head_revisions())}"
    return None


def check_broker():
    """None when the broker answers, else what is wrong."""
    broker = dramatiq.get_broker()
    try:
        client = getattr(broker, "client", None)
        if client is not None:  # Redis: one PING, under the broker's short socket timeouts
            client.ping()
        elif hasattr(broker, "connection"):  # RabbitMQ: the thread's connection opens, or reads
            broker.connection.process_data_events(time_limit=0)
    except Exception as exc:
        if hasattr(broker, "channel") and client is None:
            try:  # drop the broken thread-local connection: the next poll opens a fresh one
                del broker.connection
            except Exception:
                pass
        return f"broker unreachable: {type(exc).__name__}"
    return None


def readiness():
    """A dict of check name -> None (ok) or the problem, for /readyz."""
    problems = {"database": check_database(), "broker": check_broker()}
    for name, problem in problems.items():
        if problem:
            log.warning("not ready: %s", problem)
    return problems


def queue_depths():
    """{queue: messages waiting} for the broker's declared queues (delay and dead-letter queues
    left out); empty when the broker does not answer (readiness reports that)."""
    broker = dramatiq.get_broker()
    names = sorted(q for q in broker.get_declared_queues() if not q.endswith((".DQ", ".XQ")))
    depths = {}
    try:
        for name in names:
            if getattr(broker, "client", None) is not None:  # Redis: the queue is a list of ids
                depths[name] = broker.client.llen(f"{broker.namespace}:{name}")
            elif hasattr(broker, "get_queue_message_counts"):  # RabbitMQ: a passive declare
                depths[name] = broker.get_queue_message_counts(name)[0]
            elif hasattr(broker, "queues"):  # the tests' stub broker
                depths[name] = broker.queues[name].qsize()
    except Exception:
        return {}
    return depths
