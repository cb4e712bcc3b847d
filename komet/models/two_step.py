"""Two-step verification: a login's authenticator secret, its recovery codes and the devices
it trusts for a while (komet/accounts/two_step.py holds the rules)."""
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from komet.clock import utcnow
from komet.extensions import db
from komet.models.types import UTCDateTime


class TwoStep(db.Model):
    """A login with two-step verification on: the TOTP secret (RFC 6238) its app shares."""

    __tablename__ = "two_step_logins"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    enabled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The 30-second step of the newest code accepted: a code of that step or an older one is
    # refused, so a code seen over someone's shoulder cannot be used again within its window.
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(db.Model):
    """One of ten single-use codes for a login whose authenticator is lost (stored hashed)."""

    __tablename__ = "two_step_recovery_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at = mapped_column(UTCDateTime, nullable=True)


class TrustedDevice(db.Model):
    """A browser that passed the second step with "Remember this device": asked again only after
    TWO_STEP_REMEMBER_DAYS. The cookie holds a random token; the row holds its hash."""

    __tablename__ = "two_step_trusted_devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
