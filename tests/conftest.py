"""Test harness: the app from the factory on a real database, an SMTP sink, a worker.

The database is `TEST_DATABASE_URL` (PostgreSQL in CI) or a temporary SQLite file. The
schema is built by the migrations once per session and every table is emptied after
each test, which also works for the browser tests' separate server processes.
"""
import os
import secrets
import tempfile
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="komet-test-"))
os.environ.setdefault("TEST_DATABASE_URL", f"sqlite:///{TMP / 'test.db'}")
os.environ["TEST_BROKER_URL"] = "stub://"

# The broker is set, and the actors declared on it, before the app is built: tests run the
# actors in process on the stub broker.
from komet.broker import setup_broker  # noqa: E402
from workers import actors  # noqa: E402

setup_broker("stub://")
actors.declare()

import dramatiq  # noqa: E402
import flask_migrate  # noqa: E402
import pytest  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from itsdangerous import URLSafeTimedSerializer  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from config import TestingConfig  # noqa: E402
from komet import caching, create_app  # noqa: E402
from komet.clock import utcnow  # noqa: E402
from komet.extensions import db, limiter  # noqa: E402
from komet.models import LoginSession  # noqa: E402
from tests.factories import Factory  # noqa: E402
from tests.mailsink import SinkServer  # noqa: E402
from workers.middleware import AppContextMiddleware  # noqa: E402


class KometClient(FlaskClient):
    """A test client that can log in as someone and speak htmx with a CSRF token."""

    def login_as(self, who, workspace=None, workspace_count=1):
        """Sign `who` in on this client with a login session of its own, as the login form does."""
        with self.application.app_context():
            now = utcnow()
            key = secrets.token_urlsafe(32)
            db.session.add(LoginSession(key=key, user_id=who.id, created_at=now, last_seen_at=now))
            db.session.commit()
        with self.session_transaction() as session:
            session["_user_id"] = f"{who.id}:{key}"
            session["_fresh"] = True
            session["workspace"] = workspace or who.workspace
            session["workspace_count"] = workspace_count
        return self

    def csrf_token(self):
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", secrets.token_hex(20))
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def form_post(self, url, data=None, **kwargs):
        """POST a form as a browser does, CSRF token included."""
        return self.post(url, data={"csrf_token": self.csrf_token(), **(data or {})}, **kwargs)

    def hx_get(self, url, **kwargs):
        return self.get(url, headers={"HX-Request": "true", **kwargs.pop("headers", {})}, **kwargs)

    def hx_post(self, url, data=None, **kwargs):
        headers = {"HX-Request": "true", "X-CSRFToken": self.csrf_token(), **kwargs.pop("headers", {})}
        return self.post(url, data=data or {}, headers=headers, **kwargs)


@pytest.fixture(scope="session")
def smtp_sink():
    with SinkServer(TMP / "maildir") as sink:
        yield sink


@pytest.fixture(scope="session")
def app(smtp_sink):
    app = create_app(TestingConfig, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_sink.port,
                     DEVMAIL_DIR=str(smtp_sink.path))
    app.test_client_class = KometClient
    with app.app_context():
        _fresh_schema()
    dramatiq.get_broker().add_middleware(AppContextMiddleware(app))
    return app


def _fresh_schema():
    # Leftovers of an earlier run on the same database go first; then the real migrations.
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    flask_migrate.upgrade()


@pytest.fixture(autouse=True)
def _clean_state(request, smtp_sink):
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
        limiter.reset()
        caching.clear()  # ids restart with the tables: no entry may outlive its test
    dramatiq.get_broker().flush_all()
    smtp_sink.clear()


@pytest.fixture(scope="session")
def stack(app, smtp_sink):
    """web (gunicorn) and worker (dramatiq) as real processes, on the test database."""
    from tests.stack import Stack

    yield from Stack.web_and_worker(app, smtp_sink, TMP)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make(app):
    return Factory(app)


@pytest.fixture
def worker(app):
    """Runs the email actors in a thread; call it to wait until every queued email is done."""
    broker = dramatiq.get_broker()
    running = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    running.start()

    def drain():
        broker.join("emails", timeout=20_000)  # a failing actor retries: fail, don't hang
        running.join()

    yield drain
    running.stop()


@pytest.fixture
def queries(app):
    """Counts the SQL statements run inside a `with queries:` block."""

    class Counter:
        count = 0
        statements = []

        def _on(self, conn, cursor, statement, *args):
            self.count += 1
            self.statements.append(statement)

        def __enter__(self):
            self.count, self.statements = 0, []
            with app.app_context():
                self.engine = db.engine
            event.listen(self.engine, "before_cursor_execute", self._on)
            return self

        def __exit__(self, *exc):
            event.remove(self.engine, "before_cursor_execute", self._on)

    return Counter()


@pytest.fixture
def two_companies(make):
    """Two sellers, each with an Admin and a customer with a buyer: for tenancy tests."""
    a, b = make.company("Alpha Flowers"), make.company("Beta Produce")
    return {
        "a": a, "b": b,
        "a_admin": make.staff(a), "b_admin": make.staff(b),
        "a_customer": (ca := make.customer(a, "Alpha Customer")),
        "b_customer": (cb := make.customer(b, "Beta Customer")),
        "a_buyer": make.buyer(ca), "b_buyer": make.buyer(cb),
    }
