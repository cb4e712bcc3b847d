"""Configuration, all from the environment.

`KOMET_CONFIG` picks the class (development, testing, production); every value can be
overridden by an environment variable of the same name.
"""
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSECURE_SECRET = "dev-insecure-secret-change-me"


def _bool(name, default=False):
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def engine_options(url):
    """SQLAlchemy engine options for `url` (the bench's floor app uses them too)."""
    options = {}
    if url.startswith("postgresql"):
        # No pre-ping (a round trip, and a BEGIN, before every request's first statement): a
        # connection is replaced once it is this old instead, and a request that finds its
        # connection dead runs once more on a fresh one if it wrote nothing (komet/connections.py).
        options["pool_recycle"] = int(os.environ.get("DATABASE_POOL_RECYCLE_SECONDS", "1800"))
        # LIFO: a process hands out the connection it used last, whose prepared statements are
        # warm, and connections it no longer needs stay idle instead of taking turns. (SQLite's
        # in-memory database has a single-connection pool that takes no such option.)
        options["pool_use_lifo"] = True
        # psycopg prepares a statement once it has run 5 times on a connection, but PostgreSQL
        # keeps re-planning one whose generic plan it estimates badly (a range on a timestamp
        # parameter, as in the buyer's current messages): about 1 ms of server CPU on every shop
        # page. Every query here is scoped by id, where the generic plan is the right one.
        options["connect_args"] = {"options": "-c plan_cache_mode=force_generic_plan"}
        # A database that does not answer (a lost host, a black-holed port) fails a connection
        # after this many seconds instead of the system's two minutes: /metrics and /readyz
        # answer within Prometheus's and a load balancer's timeouts (libpq's minimum is 2).
        options["connect_args"]["connect_timeout"] = int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "3"))
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
    # Seconds any one SMTP socket operation (connect, greeting, each command) may take; a
    # server that accepts and never answers then fails the attempt instead of wedging a worker.
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "30"))
    # How long an email that no worker has tried yet waits before the scheduler enqueues it again.
    OUTBOX_REDRIVE_AFTER_SECONDS = int(os.environ.get("OUTBOX_REDRIVE_AFTER_SECONDS", "120"))
    # After a failed attempt the re-drive waits min, 2*min, 4*min... up to max (komet/mail/outbox.py).
    OUTBOX_RETRY_MIN_SECONDS = int(os.environ.get("OUTBOX_RETRY_MIN_SECONDS", "30"))
    OUTBOX_RETRY_MAX_SECONDS = int(os.environ.get("OUTBOX_RETRY_MAX_SECONDS", str(15 * 60)))
    # An email still failing this long after it was written ends `failed` (visible, retryable).
    OUTBOX_GIVE_UP_AFTER_SECONDS = int(os.environ.get("OUTBOX_GIVE_UP_AFTER_SECONDS", str(24 * 60 * 60)))
    # A worker's claim on an email; must be longer than one SMTP conversation can take (several
    # MAIL_TIMEOUTs), or a slow send could be claimed by a second worker and sent twice.
    OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "300"))
    # A worker thread claims the email of its message and up to this many - 1 other fresh ones
    # in one statement (PostgreSQL), and keeps its SMTP connection open between them until it
    # has been idle for MAIL_IDLE_SECONDS. It begins no email of the batch once the lease has
    # less than 2 * MAIL_TIMEOUT left (the rest go back to the queue), so any size is safe; 50
    # spreads the claim, the reads and the broker's message over 50 emails (bench: CPU per email
    # 3.06 -> 2.35 ms against 10).
    OUTBOX_CLAIM_BATCH = int(os.environ.get("OUTBOX_CLAIM_BATCH", "50"))
    MAIL_IDLE_SECONDS = float(os.environ.get("MAIL_IDLE_SECONDS", "10"))
    # How often the scheduler sweeps (email re-drive, message transitions).
    SCHEDULER_INTERVAL_SECONDS = float(os.environ.get("SCHEDULER_INTERVAL_SECONDS", "30"))
    # How often each worker process records its heartbeat, and how long one message may be in
    # hand without progress before the worker counts as stuck and stops beating (longer than a
    # slow but healthy SMTP conversation). The scheduler beats as often between its sweeps.
    WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", "5"))
    SCHEDULER_HEARTBEAT_SECONDS = float(os.environ.get("SCHEDULER_HEARTBEAT_SECONDS", "5"))
    # Where the worker (dramatiq's middleware, workers/worker_metrics.py) and the scheduler serve
    # their Prometheus metrics; port 0: not served. A port already taken on the host is logged
    # as a warning and the process runs on. Loopback by default: set the host to 0.0.0.0 (or
    # the machine's address) for a Prometheus on another machine.
    WORKER_METRICS_PORT = int(os.environ.get("WORKER_METRICS_PORT", "9191"))
    WORKER_METRICS_HOST = os.environ.get("WORKER_METRICS_HOST", "127.0.0.1")
    SCHEDULER_METRICS_PORT = int(os.environ.get("SCHEDULER_METRICS_PORT", "9192"))
    SCHEDULER_METRICS_HOST = os.environ.get("SCHEDULER_METRICS_HOST", "127.0.0.1")
    # When the operator page calls a part stuck (the alert rules use the same 30 s and 300 s):
    # six missed beats, so a process stopped is named within 30 s and alerts within a minute.
    OPS_HEARTBEAT_STALE_SECONDS = float(os.environ.get("OPS_HEARTBEAT_STALE_SECONDS", "30"))
    OPS_EMAIL_STALE_SECONDS = float(os.environ.get("OPS_EMAIL_STALE_SECONDS", "300"))
    # A process silent this long is forgotten (the scheduler deletes its heartbeat row): until
    # then a process that stopped without being replaced shows as stuck.
    OPS_HEARTBEAT_FORGET_SECONDS = float(os.environ.get("OPS_HEARTBEAT_FORGET_SECONDS", str(24 * 60 * 60)))
    WORKER_STUCK_AFTER_SECONDS = float(os.environ.get("WORKER_STUCK_AFTER_SECONDS", "60"))

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    # Where this deployment's counters start in the shared store, so two deployments (or two
    # test runs) on one Redis never count each other's requests.
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "komet")
    RATELIMIT_HEADERS_ENABLED = True
    # Cached HTML regions (komet/caching.py): in Redis when REDIS_URL is set, else in each web
    # process's memory. Either is correct (keys carry versions); Redis shares the work.
    CACHE_TYPE = os.environ.get("CACHE_TYPE") or ("RedisCache" if REDIS_URL else "SimpleCache")
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL") or REDIS_URL
    CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX") or f"{RATELIMIT_KEY_PREFIX}:cache:"
    # Logging in must not depend on the counters' store: when Redis is unreachable the same
    # limits count in this process's memory (logged), and any other limiter error is logged
    # and swallowed. Short timeouts keep a black-holed Redis from holding a request.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_timeout": 1, "socket_connect_timeout": 1}
    # Per client address, on log in and Forgot password.
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    # Failed logins for one email from one address: a guess at one person from one place stops
    # here, and only that address is turned away.
    LOGIN_EMAIL_ADDRESS_RATE_LIMIT = os.environ.get("LOGIN_EMAIL_ADDRESS_RATE_LIMIT", "20 per hour")
    # Failed logins for one email from every address together: far more than one address may
    # make (above), so nobody can lock a person out from one place; a slow guess spread over
    # many addresses still stops.
    LOGIN_EMAIL_RATE_LIMIT = os.environ.get("LOGIN_EMAIL_RATE_LIMIT", "500 per hour")
    # Register Here on a public invite page: per address, and per link from every address
    # together (a burst from many addresses at one seller's link still stops).
    INVITE_REQUEST_RATE_LIMIT = os.environ.get("INVITE_REQUEST_RATE_LIMIT", "5 per hour")
    INVITE_LINK_RATE_LIMIT = os.environ.get("INVITE_LINK_RATE_LIMIT", "100 per hour")
    # Two-step verification: wrong codes per login (it has passed the password already), and how
    # long "Remember this device" spares a browser the second step.
    TWO_STEP_RATE_LIMIT = os.environ.get("TWO_STEP_RATE_LIMIT", "5 per 5 minutes")
    TWO_STEP_REMEMBER_DAYS = int(os.environ.get("TWO_STEP_REMEMBER_DAYS", "30"))

    # A signed-in device (komet/accounts/sessions.py) unused this long is forgotten by the
    # scheduler: its cookies, "remember me" included, then log nobody in. Its last-seen time is
    # refreshed at most every LOGIN_SESSION_TOUCH_SECONDS (one write an hour, not one a request).
    LOGIN_SESSION_IDLE_SECONDS = int(os.environ.get("LOGIN_SESSION_IDLE_SECONDS", str(30 * 24 * 60 * 60)))
    LOGIN_SESSION_TOUCH_SECONDS = int(os.environ.get("LOGIN_SESSION_TOUCH_SECONDS", str(60 * 60)))
    REMEMBER_COOKIE_DURATION = timedelta(seconds=LOGIN_SESSION_IDLE_SECONDS)
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", str(60 * 60)))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Strict-Transport-Security max-age; 0 sends none (production sends a year).
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "0"))
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Text responses are compressed here (brotli, else gzip). Set COMPRESS_RESPONSES=0 when a
    # proxy in front of the app compresses instead. Streamed responses (the readers' CSV) are
    # compressed chunk by chunk and still stream; bodies under COMPRESS_MIN_SIZE bytes are left alone.
    COMPRESS_RESPONSES = _bool("COMPRESS_RESPONSES", True)
    COMPRESS_MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript",
                          "application/json", "image/svg+xml", "text/csv", "text/plain"]
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_ALGORITHM_STREAMING = ["br", "deflate"]

    HTMX_URL = "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"
    HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"

    # Trix, the rich-text editor of message content (see README for why Trix).
    TRIX_JS_URL = "https://cdn.jsdelivr.net/npm/trix@2.1.19/dist/trix.umd.min.js"
    TRIX_JS_SRI = "sha384-UsDaBNsdnI8hVdQyRPuasp/2As91FukgtAiycYWLaA/EOAVzWCV4hQ7anmShqFoL"
    TRIX_CSS_URL = "https://cdn.jsdelivr.net/npm/trix@2.1.19/dist/trix.css"
    TRIX_CSS_SRI = "sha384-oAhj/VjSAPg5z2AnFhyneewQ4UryiDlQ/9ad+mL4XWBj7N1oG6QplSzVzcddlmPA"
    # The same files, served by the app (static/vendor), for when the CDN copy did not load.
    CDN_FALLBACKS = {
        HTMX_URL: ("vendor/htmx-2.0.11.min.js", "htmx"),
        TRIX_JS_URL: ("vendor/trix-2.1.19.umd.min.js", "Trix"),
        TRIX_CSS_URL: ("vendor/trix-2.1.19.css", None),
    }
    MAX_IMAGE_BYTES = int(os.environ.get("MAX_IMAGE_BYTES", str(5 * 1024 * 1024)))
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024  # bigger requests are refused before they are read

    # The dev mailbox reads what the local SMTP sink stored; only development turns it on.
    DEVMAIL_ENABLED = False
    DEVMAIL_DIR = os.environ.get("DEVMAIL_DIR", str(BASE_DIR / "instance" / "devmail"))
    # "json": one JSON object per log line (request id included); "text": the plain format.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))

    # E-commerce users: how long an activation or confirm-link email works, and the CSV import's size.
    ACTIVATION_MAX_AGE = int(os.environ.get("ACTIVATION_MAX_AGE", str(7 * 24 * 60 * 60)))
    USER_IMPORT_MAX_ROWS = int(os.environ.get("USER_IMPORT_MAX_ROWS", "5000"))


class DevelopmentConfig(Config):
    DEVMAIL_ENABLED = True


class TestingConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    BROKER_URL = os.environ.get("TEST_BROKER_URL", "stub://")
    RATELIMIT_STORAGE_URI = "memory://"
    CACHE_TYPE = "SimpleCache"  # really caches, so the tests see that nothing stale is served
    SECRET_KEY = "testing-secret"
    BASE_URL = "http://komet.test"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 60 * 60)))
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

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
