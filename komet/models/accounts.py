"""Who logs in and which companies they belong to."""
import enum
from datetime import datetime
import secrets

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from komet.clock import utcnow
from komet.extensions import db
from komet.models.types import UTCDateTime

DEFAULT_TIMEZONE = "America/New_York"


class Role(enum.StrEnum):
    ADMIN = "admin"
    SETUP = "setup"
    SALES_MANAGER = "sales_manager"

    @property
    def label(self):
        return {"admin": "Admin", "setup": "Setup", "sales_manager": "Sales Manager"}[self.value]


class Company(db.Model):
    """A seller company (wholesaler): the tenant."""

    __tablename__ = "companies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def normalize_email(email):
    return (email or "").strip().lower()


class User(db.Model):
    """Anyone who logs in: seller staff and buyers alike. The email is the login."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (trimmed, lower case): that is what makes it unique case-insensitively.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Part of the session id: changing it logs the user out everywhere else.
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    is_active: Mapped[bool] = mapped_column(default=True)
    password_changed_at = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships = relationship("Membership", back_populates="user", lazy="raise")
    customer_links = relationship("CustomerUser", back_populates="user", lazy="raise")

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)  # werkzeug default: scrypt
        self.session_token = secrets.token_hex(16)
        self.password_changed_at = utcnow()

    def check_password(self, password):
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    # Flask-Login
    is_authenticated = True
    is_anonymous = False

    def get_id(self):
        return f"{self.id}:{self.session_token}"


class Membership(db.Model):
    """A staff member's role in a seller company."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "company_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(db.Enum(Role, native_enum=False, length=20,
                                                values_callable=lambda e: [m.value for m in e]))

    user = relationship("User", back_populates="memberships", lazy="raise")
    company = relationship("Company", lazy="raise")


class Customer(db.Model):
    """A buyer business: a customer account of one seller company."""

    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    company = relationship("Company", lazy="raise")


class CustomerUser(db.Model):
    """A buyer's login linked to one customer; inactive until the buyer confirms it."""

    __tablename__ = "customer_users"
    __table_args__ = (UniqueConstraint("user_id", "customer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    # Copied from the customer so tenant filters never need a join.
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    is_active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", back_populates="customer_links", lazy="raise")
    customer = relationship("Customer", lazy="raise")
    company = relationship("Company", lazy="raise")
