"""Cached HTML, keyed by version counters so that an entry is never stale, only unused.

A cached region's key holds every version its content depends on (`companies.messages_version`,
`companies.history_version`, `companies.users_version`, `users.reads_version`, bumped in the
transaction of each change; the session query returns them). An entry also says until when it holds: what a buyer sees
changes at the next Publish On or Expires On with no write at all, so the entry stops at that
moment. A new version simply makes new keys; old entries age out of the store.

The store is Redis (`REDIS_URL`) or this process's memory. It is an optimisation only: when it
fails, the request renders as if nothing were cached, and the store is left alone for a while
rather than making every request wait on it.
"""
import logging
import math
import time

from sqlalchemy import update

from komet.clock import utcnow
from komet.extensions import cache, db
from komet.models import Company, User

log = logging.getLogger(__name__)

# Upper bound on how long an entry is kept, whatever its own validity.
MAX_SECONDS = 24 * 60 * 60
# After a store error, how long requests skip the store.
RETRY_AFTER_SECONDS = 30
_skip_until = 0.0


def init_app(app):
    config = {"CACHE_DEFAULT_TIMEOUT": MAX_SECONDS, "CACHE_KEY_PREFIX": app.config["CACHE_KEY_PREFIX"]}
    if app.config["CACHE_TYPE"] == "RedisCache":
        config["CACHE_REDIS_URL"] = app.config["CACHE_REDIS_URL"]
        # A black-holed Redis costs a request a quarter of a second once, then is skipped.
        config["CACHE_OPTIONS"] = {"socket_timeout": 0.25, "socket_connect_timeout": 0.25}
    cache.init_app(app, config={**app.config, **config})


def _store_failed(action):
    global _skip_until
    _skip_until = time.monotonic() + RETRY_AFTER_SECONDS
    log.warning("cache store unreachable on %s; not used for %s s", action, RETRY_AFTER_SECONDS, exc_info=True)


def get(key):
    """The entry under `key` if it is still valid now, else None (also when the store fails)."""
    if time.monotonic() < _skip_until:
        return None
    try:
        entry = cache.get(key)
    except Exception:  # noqa: BLE001 - any store failure means "not cached"
        _store_failed("get")
        return None
    if entry is None or entry["until"] <= utcnow():
        return None
    return entry


def put(key, until, **values):
    """Store `values` under `key`, valid until the aware moment `until`; returns the entry."""
    entry = {"until": until, **values}
    seconds = (until - utcnow()).total_seconds()
    if seconds > 0 and time.monotonic() >= _skip_until:
        try:
            cache.set(key, entry, timeout=min(MAX_SECONDS, math.ceil(seconds)))
        except Exception:  # noqa: BLE001
            _store_failed("set")
    return entry


def clear():
    """Forget every entry of this deployment (tests; the versions make it unneeded otherwise)."""
    global _skip_until
    _skip_until = 0.0
    try:
        cache.clear()
    except Exception:  # noqa: BLE001
        _store_failed("clear")


def bump_messages(company_id):
    """What the company's buyers can be shown changed (and so did Message History)."""
    db.session.execute(update(Company).where(Company.id == company_id)
                       .values(messages_version=Company.messages_version + 1,
                               history_version=Company.history_version + 1)
                       .execution_options(synchronize_session=False))


def bump_history(*company_ids):
    """Something Message History shows changed for these companies (a read count, an audience)."""
    if company_ids:
        db.session.execute(update(Company).where(Company.id.in_(company_ids))
                           .values(history_version=Company.history_version + 1)
                           .execution_options(synchronize_session=False))


def bump_users(company_id):
    """Something Setup > Users shows changed for the company (a user, their customers, a sign-in)."""
    db.session.execute(update(Company).where(Company.id == company_id)
                       .values(users_version=Company.users_version + 1)
                       .execution_options(synchronize_session=False))


def bump_reads(user_id):
    """The user recorded a read: their shop messages change (read flags, what opens by itself)."""
    db.session.execute(update(User).where(User.id == user_id).values(reads_version=User.reads_version + 1)
                       .execution_options(synchronize_session=False))


def company_key(company):
    """The part of a key naming a company: its id, and its creation time (a database that was
    emptied and refilled, as the tests do, gives the same id to another company)."""
    return f"{company.id}.{company.created_at.timestamp():.6f}"
