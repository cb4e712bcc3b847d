"""Promotions and Messages: what sellers tell their buyers after login."""
import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from komet.clock import utcnow
from komet.extensions import db
from komet.models.types import UTCDateTime


def _enum(cls, length):
    return db.Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class MessageType(enum.StrEnum):
    POPUP = "popup"
    WINDOW = "window"

    @property
    def label(self):
        return {"popup": "Pop-up", "window": "Window"}[self.value]


class MessageStatus(enum.StrEnum):
    DRAFT = "draft"  # Publish On is in the future
    PUBLISHED = "published"
    EXPIRED = "expired"

    @property
    def label(self):
        return self.value.capitalize()


# The predicates of the sweep's partial indexes, as literal SQL: the app plans every statement
# generically (config.engine_options), and a generic plan can use a partial index only when
# the query states its predicate with the same constants, not as bound parameters.
DRAFT_ROWS = text("status = 'draft'")
UNEXPIRED_ROWS = text("status <> 'expired'")


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        # The buyer's "current messages" query. Expires On leads: most of a company's messages
        # are long expired, so "expires_on > now" is the selective bound (publish_on <= now is not).
        Index("ix_messages_company_expires_publish", "company_id", "expires_on", "publish_on"),
        # Message History: a company's messages newest first, one page at a time.
        Index("ix_messages_company_publish_id", "company_id", "publish_on", "id"),
        # The scheduler's sweep: only the rows not yet expired are indexed, so a sweep reads the
        # due rows, not the years of expired ones (on (status, date) indexes PostgreSQL scanned
        # the whole table: it cannot tell that few unexpired rows have a past Expires On).
        Index("ix_messages_draft_publish", "publish_on", postgresql_where=DRAFT_ROWS, sqlite_where=DRAFT_ROWS),
        Index("ix_messages_unexpired_expires", "expires_on", postgresql_where=UNEXPIRED_ROWS,
              sqlite_where=UNEXPIRED_ROWS),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    content_html: Mapped[str] = mapped_column(Text, default="")
    publish_on: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_on: Mapped[datetime] = mapped_column(UTCDateTime)
    type: Mapped[MessageType] = mapped_column(_enum(MessageType, 10), default=MessageType.POPUP)
    # True: every customer of the company; False: only those in message_customers.
    for_all_customers: Mapped[bool] = mapped_column(default=True)
    # Kept in step by the scheduler for history and indexes; what buyers see is computed
    # from the clock (komet.messages.status_at), never from this column.
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus, 10), default=MessageStatus.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Distinct customers with a read: kept by komet.messages.mark_read (see MessageCustomerRead),
    # so Message History reads a column instead of aggregating the reads.
    customers_read: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MessageCustomer(db.Model):
    """A chosen customer of a message that is not for all customers."""

    __tablename__ = "message_customers"
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True,
                                             index=True)


class MessageRead(db.Model):
    """A buyer closed a message: once per (message, user, customer)."""

    __tablename__ = "message_reads"
    __table_args__ = (UniqueConstraint("message_id", "user_id", "customer_id"),
                      Index("ix_message_reads_message_customer", "message_id", "customer_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageCustomerRead(db.Model):
    """The first read of a message by any user of a customer.

    Its primary key is what makes `Message.customers_read` exact: when two users of one
    customer read at the same moment, only one insert takes, and only that one counts.
    """

    __tablename__ = "message_customer_reads"
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True,
                                             index=True)
    first_read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageImage(db.Model):
    """An image in a message's content, kept in the database so any web process serves it."""

    __tablename__ = "message_images"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
