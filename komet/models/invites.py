"""The seller's permanent invite link and the access requests that come through it."""
import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from komet.clock import utcnow
from komet.extensions import db
from komet.models.types import UTCDateTime


class InviteLink(db.Model):
    """One per company. The public token is `<lookup>.<secret>`: the lookup finds the row by
    a unique index, the secret is compared in constant time, so a wrong token costs the same
    whether or not its lookup part exists."""

    __tablename__ = "invite_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), unique=True)
    lookup: Mapped[str] = mapped_column(String(24), unique=True)
    secret: Mapped[str] = mapped_column(String(64))
    paused: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    regenerated_at = mapped_column(UTCDateTime, nullable=True)

    @property
    def token(self):
        return f"{self.lookup}.{self.secret}"


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self):
        return self.value.title()


class AccessRequest(db.Model):
    """A visitor's Register Here form, waiting for (or decided by) the seller's staff."""

    __tablename__ = "access_requests"
    # The queue pages a company's requests of one status, newest first, from this index;
    # duplicate detection looks up (company, email, status). At most one Pending request per
    # (company, email), held by the database too: two submits at the same moment store one.
    __table_args__ = (Index("ix_access_requests_company_id_status_id", "company_id", "status", "id"),
                      Index("ix_access_requests_company_id_email", "company_id", "email"),
                      Index("uq_access_requests_company_id_email_pending", "company_id", "email", unique=True,
                            postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")))
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    business_name: Mapped[str] = mapped_column(String(120))
    contact_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))  # normalised like logins' emails
    phone: Mapped[str] = mapped_column(String(40), default="")
    city: Mapped[str] = mapped_column(String(80), default="")
    country: Mapped[str] = mapped_column(String(80), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(
        db.Enum(RequestStatus, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]),
        default=RequestStatus.PENDING)
    reason: Mapped[str] = mapped_column(Text, default="")
    internal_notes: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
