"""The email outbox: one row per email, written with the change that causes it."""
import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from komet.clock import utcnow
from komet.extensions import db
from komet.models.types import UTCDateTime


class EmailStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a worker
    SENDING = "sending"  # claimed by a worker (lease in claimed_at)
    SENT = "sent"
    FAILED = "failed"  # gave up after too many attempts; an admin can retry
    SKIPPED = "skipped"  # nothing to send (a reset asked for an address with no account)


class Email(db.Model):
    __tablename__ = "emails"
    __table_args__ = (Index("ix_emails_status_enqueued_at", "status", "enqueued_at"),
                      # Setup > Emails: a company's newest first, a page read from the index.
                      Index("ix_emails_company_id_id", "company_id", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(254))
    # Ids and plain values only: the worker renders the email from fresh rows.
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[EmailStatus] = mapped_column(
        db.Enum(EmailStatus, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]),
        default=EmailStatus.PENDING,
    )
    subject: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at = mapped_column(UTCDateTime, nullable=True)
    claimed_at = mapped_column(UTCDateTime, nullable=True)
    sent_at = mapped_column(UTCDateTime, nullable=True)
    # The worker process holding the claim (its heartbeat's host and pid): a dead one's emails
    # are re-driven at once, not after the lease.
    claimed_host: Mapped[str | None] = mapped_column(String(255))
    claimed_pid: Mapped[int | None]
    # When the attempts at this unsent email began failing without reaching SMTP (refused or
    # timed-out connections); None once sent, or after a temporary refusal (a 4xx).
    failing_since = mapped_column(UTCDateTime, nullable=True)
    # The request id the email was queued under, given again to every message that re-drives
    # or retries it, so one email's whole life shares one id in the logs. Not `request_id`:
    # context["request_id"] is an access request's id (komet/invites).
    trace_id: Mapped[str | None] = mapped_column(String(64))
