"""Two-step verification (TOTP, RFC 6238): turning it on and off, checking a code at login,
recovery codes, and devices remembered for a while.

A code is accepted once: the step it belongs to is stored with a conditional update, so the
same code (or an older one) sent again, even by two requests at once, is refused. Recovery
codes are single-use the same way. Every change is audited in each company the login belongs
to and emailed to its owner.
"""
import base64
import hashlib
import hmac
import io
import secrets
from datetime import timedelta

import pyotp
import qrcode
import qrcode.image.svg
from flask import current_app
from sqlalchemy import delete, exists, select, update

from komet import audit
from komet.clock import utcnow
from komet.extensions import db
from komet.mail import outbox
from komet.models import (Company, EcommerceUser, Membership, RecoveryCode, TrustedDevice, TwoStep, User)

ISSUER = "Komet"
RECOVERY_CODES = 10
# A code from the step before or after the current one is accepted: phones' clocks drift.
DRIFT_STEPS = 1


def new_secret():
    return pyotp.random_base32()


def setup_uri(secret, email):
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_url(text):
    """`text` as an SVG QR code in a data: URL (the page's policy allows data: images)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def group_secret(secret):
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def is_on(user_id):
    return db.session.scalar(select(exists().where(TwoStep.user_id == user_id)))


def required_for(user_id):
    """True if a company where the login is staff asks all its staff for two-step verification."""
    return db.session.scalar(select(exists().where(
        Membership.user_id == user_id, Membership.company_id == Company.id, Company.require_two_step)))


def _step_of(secret, code, now):
    """The time step `code` belongs to (within the drift allowed), or None."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash(value):
    return hashlib.sha256(value.encode()).hexdigest()


def _normal_recovery(code):
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def verify(user_id, code, now=None):
    """Check a login's second step: "code" for an authenticator code, "recovery" for a recovery
    code (now used up), None if neither is good. A used code is refused within its window."""
    now = now or utcnow()
    row = db.session.get(TwoStep, user_id)
    if row is None:
        return None
    step = _step_of(row.secret, code, now)
    if step is not None:
        fresh = db.session.execute(
            update(TwoStep).where(TwoStep.user_id == user_id)
            .where((TwoStep.last_step.is_(None)) | (TwoStep.last_step < step)).values(last_step=step)).rowcount
        db.session.commit()
        return "code" if fresh else None
    normal = _normal_recovery(code)
    if len(normal) != 10:
        return None
    used = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _hash(normal),
                                   RecoveryCode.used_at.is_(None)).values(used_at=now)).rowcount
    db.session.commit()
    return "recovery" if used else None


def recovery_codes_left(user_id):
    return len(db.session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))).all())


def _new_recovery_codes(user_id):
    """Replace the login's recovery codes with ten new ones; returns them as shown (xxxxx-xxxxx)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o or 1/l/i to misread
    codes = ["".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user_id, code_hash=_hash(code)) for code in codes)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def turn_on(user_id, secret, code, now=None):
    """Turn two-step verification on with `secret` once `code` from the app proves it is set up;
    returns the ten recovery codes, or None if the code is wrong."""
    now = now or utcnow()
    step = _step_of(secret, code, now)
    if step is None or is_on(user_id):
        return None
    db.session.add(TwoStep(user_id=user_id, secret=secret, enabled_at=now, last_step=step))
    codes = _new_recovery_codes(user_id)
    _tell(user_id, "two_step_on", "Two-step verification turned on")
    db.session.commit()
    return codes


def new_recovery_codes(user_id):
    codes = _new_recovery_codes(user_id)
    _tell(user_id, "two_step_codes", "New recovery codes made; the old ones no longer work")
    db.session.commit()
    return codes


def turn_off(user_id):
    """Turn it off: the secret, the recovery codes and every remembered device go."""
    for model in (TwoStep, RecoveryCode, TrustedDevice):
        db.session.execute(delete(model).where(model.user_id == user_id))
    _tell(user_id, "two_step_off", "Two-step verification turned off")
    db.session.commit()


def _tell(user_id, action, detail):
    """Audit the change in every company the login belongs to, and email its owner."""
    user = db.session.get(User, user_id)
    staff_of = db.session.scalars(select(Membership.company_id).where(Membership.user_id == user_id)).all()
    for company_id in staff_of:
        audit.record(action, f"{detail} for {user.name}", company_id=company_id, actor_id=user_id)
    accounts = db.session.execute(select(EcommerceUser.id, EcommerceUser.company_id)
                                  .where(EcommerceUser.user_id == user_id)).all()
    for account_id, company_id in accounts:
        audit.record(action, detail, company_id=company_id, ecommerce_user_id=account_id, actor_id=user_id)
    outbox.queue_email("two_step_changed", user.email, user_id=user_id, change=action)


def set_required(company_id, required):
    """An Admin's choice for the company's staff; audited."""
    company = db.session.get(Company, company_id)
    if company.require_two_step == required:
        return
    company.require_two_step = required
    audit.record("two_step_required" if required else "two_step_not_required",
                 "Two-step verification " + ("required" if required else "no longer required") + " for all staff",
                 company_id=company_id)
    db.session.commit()


# --- Devices that need not be asked again for a while ---

def _remember_for():
    return timedelta(days=current_app.config["TWO_STEP_REMEMBER_DAYS"])


def remember_device(user_id, now=None):
    """A new trusted-device token for the cookie; its hash is stored with an expiry."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    db.session.add(TrustedDevice(user_id=user_id, token_hash=_hash(token), created_at=now,
                                 expires_at=now + _remember_for()))
    db.session.commit()
    return token


def is_remembered(user_id, token, now=None):
    if not token:
        return False
    return db.session.scalar(select(exists().where(
        TrustedDevice.user_id == user_id, TrustedDevice.token_hash == _hash(token),
        TrustedDevice.expires_at > (now or utcnow()))))


def forget_expired_devices(now=None):
    """Delete remembered devices past their time (a scheduler sweep); returns how many."""
    done = db.session.execute(delete(TrustedDevice).where(TrustedDevice.expires_at <= (now or utcnow()))).rowcount
    db.session.commit()
    return done


def login_for(user_id):
    """The active login waiting for its code step, or None."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.is_active else None


def company_policy(company_id):
    """(required for all staff?, staff using it, all staff) of a company, for Setup > Settings."""
    required = db.session.scalar(select(Company.require_two_step).where(Company.id == company_id))
    staff = db.session.scalar(select(db.func.count()).select_from(Membership).where(Membership.company_id == company_id))
    using = db.session.scalar(select(db.func.count()).select_from(Membership)
                              .join(TwoStep, TwoStep.user_id == Membership.user_id)
                              .where(Membership.company_id == company_id))
    return required, using, staff
