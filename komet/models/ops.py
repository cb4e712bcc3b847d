"""Heartbeats: when each background process last did its work."""
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from komet.extensions import db
from komet.models.types import UTCDateTime


class Heartbeat(db.Model):
    """One row per process role ("worker", "scheduler"), refreshed while it works.

    A row in the database rather than a Redis key: RabbitMQ deployments have no Redis, and the
    operator page and the metrics read it with the emails, on the one store every process has.
    """
    __tablename__ = "heartbeats"
    process: Mapped[str] = mapped_column(String(40), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detail: Mapped[str] = mapped_column(String(200), default="")
