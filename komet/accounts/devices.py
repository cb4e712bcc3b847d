"""Profile > Your devices: where the login is signed in, and logging any other device out.

A device is a `login_sessions` row (komet/accounts/sessions.py). It is the login's, whoever
the login buys from: one list for a buyer of several sellers, and nothing staff of any company
can see. Pages name a device by a digest of its key, never the key, which is a credential.
"""
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

from flask import abort
from sqlalchemy import delete, select
from ua_parser import parse

from komet.extensions import db
from komet.models import LoginSession

# Security events go to the structured log, not a company's audit log: staff never see devices.
log = logging.getLogger("komet.security")


@dataclass(frozen=True)
class Device:
    id: str
    browser: str
    system: str
    signed_in_at: datetime
    last_seen_at: datetime
    this_device: bool


def device_id(key):
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _named(part, fallback):
    if part is None or part.family in (None, "", "Other"):
        return fallback
    return " ".join(str(bit) for bit in (part.family, part.major) if bit)


def describe(user_agent):
    """(browser, system) as a person reads them, e.g. ("Chrome 131", "Windows 10"), from a User-Agent."""
    if not user_agent:
        return "Unknown browser", "an unknown system"
    found = parse(user_agent)
    return _named(found.user_agent, "Unknown browser"), _named(found.os, "an unknown system")


def devices_of(user):
    """The login's signed-in devices, this one first, then by when each was last seen."""
    rows = db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)
                              .order_by(LoginSession.last_seen_at.desc(), LoginSession.created_at.desc())).all()
    devices = [Device(device_id(row.key), *describe(row.user_agent), row.created_at, row.last_seen_at,
                      row.key == user.session_key) for row in rows]
    return sorted(devices, key=lambda device: not device.this_device)


def log_out_device(user, id_):
    """End one of the login's other devices' session; 404 for this device or anyone else's."""
    keys = db.session.scalars(select(LoginSession.key).where(LoginSession.user_id == user.id,
                                                             LoginSession.key != user.session_key)).all()
    key = next((k for k in keys if hmac.compare_digest(device_id(k).encode(), id_.encode())), None)
    if key is None:
        abort(404)
    db.session.execute(delete(LoginSession).where(LoginSession.key == key, LoginSession.user_id == user.id))
    db.session.commit()
    log.info("device logged out", extra={"event": "device_logged_out", "user_id": user.id, "device": id_})


def log_out_others(user):
    """End every session of the login but this device's; returns how many ended."""
    ended = db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                          LoginSession.key != user.session_key)).rowcount
    db.session.commit()
    log.info("other devices logged out", extra={"event": "other_devices_logged_out", "user_id": user.id,
                                                "ended": ended})
    return ended
