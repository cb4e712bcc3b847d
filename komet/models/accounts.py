"""Who logs in and which companies they belong to."""
import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from komet.clock import utcnow
from komet.extensions import db
from komet.models.types import UTCDateTime

DEFAULT_TIMEZONE = "America/New_York"
USER_AGENT_LENGTH = 400


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
    # Cache versions (komet/caching.py): bumped in the transaction of any change to what the
    # company's buyers are shown, and of any change to what Message History shows.
    messages_version: Mapped[int] = mapped_column(default=0, server_default="0")
    history_version: Mapped[int] = mapped_column(default=0, server_default="0")
    users_version: Mapped[int] = mapped_column(default=0, server_default="0")  # Setup > Users (0023)
    # An Admin's choice: every staff member must set up two-step verification at their next login.
    require_two_step: Mapped[bool] = mapped_column(default=False, server_default=false())


def trigram_index(name, column):
    """A GIN trigram index on PostgreSQL, for the search boxes' ILIKE '%text%' (migration 0016);
    elsewhere a plain index that such a search does not use (SQLite scans, as it always did)."""
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def normalize_email(email):
    return (email or "").strip().lower()


class User(db.Model):
    """Anyone who logs in: seller staff and buyers alike. The email is the login."""

    __tablename__ = "users"
    __table_args__ = (trigram_index("ix_users_email_trgm", "email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (trimmed, lower case): that is what makes it unique case-insensitively.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Runs the platform (the /operator page), apart from any company; set only by the CLI.
    is_operator: Mapped[bool] = mapped_column(default=False, server_default=false())
    password_changed_at = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped with every read the user records: keys their cached shop messages (komet/caching.py).
    reads_version: Mapped[int] = mapped_column(default=0, server_default="0")

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)  # werkzeug default: scrypt
        self.password_changed_at = utcnow()

    def check_password(self, password):
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    # Flask-Login: the id names the login session too (komet/accounts/sessions.py sets it at
    # login), so the session and "remember me" cookies die with that session's row.
    is_authenticated = True
    is_anonymous = False
    session_key = None

    def get_id(self):
        return f"{self.id}:{self.session_key}"


class LoginSession(db.Model):
    """One signed-in device: a login that has not logged out (or been idle too long).

    Every request's session check joins this row by the key its cookie carries, so logout
    (which deletes the row) ends that device's session and "remember me" cookie at once,
    copies included, and leaves the person's other devices signed in.
    """

    __tablename__ = "login_sessions"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Refreshed at most every LOGIN_SESSION_TOUCH_SECONDS; the scheduler forgets idle rows.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The browser's User-Agent at login (truncated), shown parsed on Profile > Your devices.
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))


class Membership(db.Model):
    """A staff member's role in a seller company."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "company_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(db.Enum(Role, native_enum=False, length=20,
                                                values_callable=lambda e: [m.value for m in e]))

    company = relationship("Company", lazy="raise")


class Customer(db.Model):
    """A buyer business: a customer account of one seller company."""

    __tablename__ = "customers"
    # Who-read pages walk a company's customers by name; search finds them by name or code. Access
    # requests are checked against a seller's customers by trigram similarity
    # (komet/invites/lookalikes.py) on a GIN (company_id, name) index (btree_gin + pg_trgm), which
    # also serves the search's ILIKE on names within a company.
    __table_args__ = (Index("ix_customers_company_id_name", "company_id", "name", "id"),
                      Index("ix_customers_company_id_name_trgm", "company_id", "name", postgresql_using="gin",
                            postgresql_ops={"name": "gin_trgm_ops"}, postgresql_with={"fastupdate": "off"}),
                      trigram_index("ix_customers_code_trgm", "code"))
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # The seller's own reference for the customer (a CSV import may name customers by it).
    code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkStatus(enum.StrEnum):
    PENDING = "pending"  # created; the buyer has not activated or confirmed it yet
    ACTIVE = "active"
    DISABLED = "disabled"  # the seller ended this company's access

    @property
    def label(self):
        return self.value.title()


class EcommerceUser(db.Model):
    """A login's link to one seller company: what Setup > Users lists as an e-commerce user.

    The login (users row) is global and belongs to the buyer; this row is the company's: its
    name for the person, their username here, and whether the company lets them in. Their
    customers of this company are the `customer_users` rows with the same (user, company).
    """

    __tablename__ = "ecommerce_users"
    __table_args__ = (UniqueConstraint("company_id", "user_id", name="uq_ecommerce_users_company_id_user_id"),
                      UniqueConstraint("company_id", "username", name="uq_ecommerce_users_company_id_username"),
                      # Setup > Users pages through the company's users by name from this index alone.
                      Index("ix_ecommerce_users_company_id_name", "company_id", "name", "id"),
                      trigram_index("ix_ecommerce_users_name_trgm", "name"),
                      trigram_index("ix_ecommerce_users_username_trgm", "username"))
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # Stored in lower case: unique per company whatever the case it was typed in.
    username: Mapped[str] = mapped_column(String(254))
    status: Mapped[LinkStatus] = mapped_column(
        db.Enum(LinkStatus, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]),
        default=LinkStatus.PENDING)
    # Changes with every activation email sent, and is cleared when the link is activated:
    # a token carries its fingerprint, so only the newest unused link works.
    activation_nonce: Mapped[str | None] = mapped_column(String(32))
    activation_sent_at = mapped_column(UTCDateTime, nullable=True)
    activated_at = mapped_column(UTCDateTime, nullable=True)
    last_sign_in_at = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", lazy="raise")
    company = relationship("Company", lazy="raise")


def normalize_username(username):
    return (username or "").strip().lower()


class CustomerUser(db.Model):
    """A buyer's login linked to one customer. It opens a workspace while the login's
    EcommerceUser row for the same company is Active."""

    __tablename__ = "customer_users"
    # A search by customer goes from the matching customers to their buyers on this index alone.
    __table_args__ = (UniqueConstraint("user_id", "customer_id"),
                      Index("ix_customer_users_customer_id_company_id_user_id", "customer_id", "company_id", "user_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    # Copied from the customer so tenant filters never need a join.
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", lazy="raise")
    customer = relationship("Customer", lazy="raise")
    company = relationship("Company", lazy="raise")
