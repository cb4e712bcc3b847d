"""A CSV import of e-commerce users: its rows, the dry run's verdicts, and its progress."""
import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from komet.clock import utcnow
from komet.extensions import db
from komet.models.types import UTCDateTime


class ImportStatus(enum.StrEnum):
    CHECKED = "checked"  # dry run shown, waiting for staff to confirm
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


class UserImport(db.Model):
    __tablename__ = "user_imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[ImportStatus] = mapped_column(
        db.Enum(ImportStatus, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]),
        default=ImportStatus.CHECKED)
    # One dict per data row: the cells, the dry run's verdict, and (once imported) the outcome.
    rows: Mapped[list] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    linked: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at = mapped_column(UTCDateTime, nullable=True)
