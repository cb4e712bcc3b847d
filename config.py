"""Configuration, all from the environment.

`KOMET_CONFIG` picks the class (development, testing, production); every value can be
overridden by an environment variable of the same name.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSECURE_SECRET = "dev-insecure-secret-change-me"


def _bool(name, default=False):
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def engine_options(url):
    """SQLAlchemy engine options for `url` (the bench's floor app uses them too)."""
    options = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        # psycopg prepares a statement once it has run 5 times on a connection, but PostgreSQL
        # keeps re-planning one whose generic plan it estimates badly (a range on a timestamp
        # parameter, as in the buyer's current messages): about 1 ms of server CPU on every shop
        # page. Every query here is scoped by id, where the generic plan is the right one.
        options["connect_args"] = {"options": "-c plan_cache_mode=force_generic_plan"}
    return options


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_SECRET)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'komet.db'}"
    )
    # Links in emails are built by workers, which have no request to take a host from.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5080")

    REDIS_URL = os.environ.get("REDIS_URL")
    # Redis (redis://) or RabbitMQ (amqp://); "stub" keeps messages in memory (tests).
    BROKER_URL = os.environ.get("BROKER_URL") or REDIS_URL or "redis://127.0.0.1:6379/0"
    BROKER_NAMESPACE = os.environ.get("BROKER_NAMESPACE", "komet")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "8025"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Komet <no-reply@komet.example>")
    MAIL_SUPPRESS_SEND = False
    # How long an unsent email waits before the scheduler enqueues it again.
    OUTBOX_REDRIVE_AFTER_SECONDS = int(os.environ.get("OUTBOX_REDRIVE_AFTER_SECONDS", "120"))

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")

    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", str(60 * 60)))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    HTMX_URL = "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"
    HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"

    # Trix, the rich-text editor of message content (see README for why Trix).
    TRIX_JS_URL = "https://cdn.jsdelivr.net/npm/trix@2.1.19/dist/trix.umd.min.js"
    TRIX_JS_SRI = "sha384-UsDaBNsdnI8hVdQyRPuasp/2As91FukgtAiycYWLaA/EOAVzWCV4hQ7anmShqFoL"
    TRIX_CSS_URL = "https://cdn.jsdelivr.net/npm/trix@2.1.19/dist/trix.css"
    TRIX_CSS_SRI = "sha384-oAhj/VjSAPg5z2AnFhyneewQ4UryiDlQ/9ad+mL4XWBj7N1oG6QplSzVzcddlmPA"
    MAX_IMAGE_BYTES = int(os.environ.get("MAX_IMAGE_BYTES", str(5 * 1024 * 1024)))
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024  # bigger requests are refused before they are read

    # The dev mailbox reads what the local SMTP sink stored; only development turns it on.
    DEVMAIL_ENABLED = False
    DEVMAIL_DIR = os.environ.get("DEVMAIL_DIR", str(BASE_DIR / "instance" / "devmail"))
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))


class DevelopmentConfig(Config):
    DEVMAIL_ENABLED = True


class TestingConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    BROKER_URL = os.environ.get("TEST_BROKER_URL", "stub://")
    RATELIMIT_STORAGE_URI = "memory://"
    SECRET_KEY = "testing-secret"
    BASE_URL = "http://komet.test"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)

    @classmethod
    def check(cls):
        key = os.environ.get("SECRET_KEY", "")
        if not key or key == INSECURE_SECRET or len(key) < 32:
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env():
    name = os.environ.get("KOMET_CONFIG", "production")
    if name not in CONFIGS:
        raise RuntimeError(f"KOMET_CONFIG must be one of {sorted(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
