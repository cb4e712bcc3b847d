"""The audit log: who changed what, and when, in a seller company."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from komet.clock import utcnow
from komet.extensions import db
from komet.models.types import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_company_id_id", "company_id", "id"),
                      Index("ix_audit_events_ecommerce_user_id_id", "ecommerce_user_id", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    # None for an event of the platform itself (an operator forgot a process), seen by no company.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    # Who did it; None for the system (an import running in the worker records its starter).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The e-commerce user it is about, if any (message changes have none).
    ecommerce_user_id: Mapped[int | None] = mapped_column(ForeignKey("ecommerce_users.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(40))
    # What changed, in words staff read ("Customers added: Rose Café"); kept after the subject goes.
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor = relationship("User", lazy="raise")
    ecommerce_user = relationship("EcommerceUser", lazy="raise")
