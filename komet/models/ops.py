"""Heartbeats: when each background process last did its work."""
from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from komet.extensions import db
from komet.models.types import UTCDateTime


class Heartbeat(db.Model):
    """One row per running process (role, host, pid), refreshed while it works.

    Per process, not per role: with two workers, one stuck worker must not hide behind the
    other's beat. A row in the database rather than a Redis key: RabbitMQ deployments have no
    Redis, and the operator page and the metrics read it with the emails, on the one store
    every process has.
    """
    __tablename__ = "heartbeats"
    __table_args__ = (UniqueConstraint("role", "host", "pid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(40))  # "worker" or "scheduler"
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detail: Mapped[str] = mapped_column(String(200), default="")
    # The process's PID namespace (Linux: "pid:[4026531836]"), so that a reader on the same
    # host tells "its pid is gone" only when it sees the same pids (not across containers).
    pid_namespace: Mapped[str | None] = mapped_column(String(64))
