"""Read-only requests run without BEGIN/COMMIT, writes stay transactional, and a request whose
pooled connection died is answered anyway (komet/connections.py)."""
from datetime import timedelta
from unittest import mock

import psycopg
import pytest
from flask import abort
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError

from config import TestingConfig
from komet import create_app
from komet.clock import utcnow
from komet.extensions import db
from komet.models import Company, LoginSession

IDLE, INTRANS = psycopg.pq.TransactionStatus.IDLE, psycopg.pq.TransactionStatus.INTRANS
pytestmark = pytest.mark.skipif(not TestingConfig.SQLALCHEMY_DATABASE_URI.startswith("postgresql"),
                                reason="autocommit reads and dead connections are PostgreSQL's")


@pytest.fixture
def statuses(app):
    """(statement, transaction status right after it) for every statement run in the block."""
    seen = []

    def after(conn, cursor, statement, *args):
        seen.append((statement, conn.connection.dbapi_connection.info.transaction_status))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", after)
    yield seen
    event.remove(engine, "after_cursor_execute", after)


def test_logged_in_get_runs_its_session_check_outside_a_transaction(client, two_companies, statuses):
    client.login_as(two_companies["a_buyer"])
    statuses.clear()
    response = client.get("/shop/messages")  # the session check alone, then a redirect
    assert response.status_code in (302, 303)
    assert len(statuses) == 1 and statuses[0][1] == IDLE  # no BEGIN was sent, so no COMMIT is owed


def test_shop_page_reads_outside_a_transaction_and_shows_the_same_page(client, make, two_companies, statuses):
    make.message(two_companies["a"], "Tulip week")
    client.login_as(two_companies["a_buyer"])
    statuses.clear()
    page = client.get("/shop/").data.decode()
    assert "Tulip week" in page
    assert statuses and all(status == IDLE for _, status in statuses)


def test_a_get_that_writes_does_so_in_a_transaction(app, client, two_companies, statuses):
    client.login_as(two_companies["a_buyer"])
    with app.app_context():  # an hour-old session: this request refreshes its last-seen time
        db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    statuses.clear()
    assert client.get("/shop/messages").status_code in (302, 303)
    writes = [status for statement, status in statuses if statement.startswith("UPDATE login_sessions")]
    assert writes == [INTRANS]
    with app.app_context():
        assert utcnow() - db.session.scalar(select(func.max(LoginSession.last_seen_at))) < timedelta(minutes=1)


def test_a_post_is_transactional_from_its_first_statement(client, make, two_companies, statuses):
    message = make.message(two_companies["a"])
    client.login_as(two_companies["a_buyer"])
    statuses.clear()
    assert client.hx_post(f"/shop/messages/{message.id}/read").status_code == 204
    assert statuses and all(status == INTRANS for _, status in statuses)


def _app_with_routes(**routes):
    # A 500, as a person would get it; the routes are test-only, with no form to carry a token.
    app = create_app(TestingConfig, PROPAGATE_EXCEPTIONS=False, WTF_CSRF_ENABLED=False)
    for rule, view in routes.items():
        app.add_url_rule(rule, rule.strip("/"), view, methods=["GET", "POST"])
    return app


def test_a_get_whose_second_write_fails_keeps_neither_write(app, make):
    def two_writes():
        db.session.add(Company(name="First", slug="first", timezone="America/New_York", created_at=utcnow()))
        db.session.flush()
        db.session.add(Company(name="Second", slug="first", timezone="America/New_York", created_at=utcnow()))
        db.session.flush()  # the slug is unique: this write fails
        return "saved"

    other = _app_with_routes(**{"/two-writes": two_writes})
    assert other.test_client().get("/two-writes").status_code == 500
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Company)) == 0


def _dead_connection():
    return OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"),
                            connection_invalidated=True)


def test_a_request_that_wrote_nothing_is_run_again_after_a_dead_connection():
    runs = []

    def flaky():
        db.session.scalar(select(func.count()).select_from(Company))
        runs.append(1)
        if len(runs) == 1:
            raise _dead_connection()
        return "answered"

    response = _app_with_routes(**{"/flaky": flaky}).test_client().get("/flaky")
    assert (response.status_code, response.data, len(runs)) == (200, b"answered", 2)


def test_a_request_that_wrote_is_never_run_twice(app):
    runs = []

    def wrote_then_lost():
        runs.append(1)
        db.session.add(Company(name="Once", slug=f"once-{len(runs)}", timezone="America/New_York", created_at=utcnow()))
        db.session.flush()
        raise _dead_connection()

    other = _app_with_routes(**{"/wrote": wrote_then_lost})
    for method in ("get", "post"):
        runs.clear()
        assert getattr(other.test_client(), method)("/wrote").status_code == 500
        assert len(runs) == 1


def test_an_http_error_is_not_mistaken_for_a_dead_connection():
    runs = []

    def missing():
        runs.append(1)
        abort(404)

    assert _app_with_routes(**{"/missing": missing}).test_client().get("/missing").status_code == 404
    assert len(runs) == 1


def test_pages_are_answered_after_the_database_dropped_every_pooled_connection(app, client, make, two_companies):
    make.message(two_companies["a"], "Tulip week")
    client.login_as(two_companies["a_buyer"])
    assert client.get("/shop/").status_code == 200  # the pool now holds a connection
    with app.app_context():
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert killed >= 1
    page = client.get("/shop/")
    assert page.status_code == 200 and "Tulip week" in page.data.decode()


def test_the_session_check_reads_exactly_what_sqlalchemy_reads(app, client, two_companies):
    from komet import tenancy

    staff, buyer = two_companies["a_admin"], two_companies["a_buyer"]
    client.login_as(staff)
    client.login_as(buyer)
    with app.app_context():
        keys = dict(db.session.execute(select(LoginSession.user_id, LoginSession.key)).all())
        for who, fast in ((staff, tenancy._STAFF_SESSION), (buyer, tenancy._BUYER_SESSION)):
            params = {"user_id": who.id, "session_key": keys[who.id], "workspace_id": int(who.workspace.split("-")[1])}
            expected = tuple(db.session.connection().execute(fast.statement, params).first())
            assert fast.first(db.session, params) == expected
            assert any(getattr(value, "tzinfo", None) for value in expected)  # aware times, and the role an enum
        assert tenancy._USER.first(db.session, {"user_id": staff.id, "session_key": "ended"}) is None


def test_a_get_answered_after_its_session_check_opens_no_orm_session(app, client, two_companies, statuses):
    client.login_as(two_companies["a_buyer"])
    statuses.clear()
    with app.app_context():
        registry = db.session.registry
    with mock.patch.object(registry, "createfunc", wraps=registry.createfunc) as sessions:
        assert client.get("/shop/messages").status_code in (302, 303)
    assert sessions.call_count == 0  # the check borrowed a pooled connection and gave it back
    assert len(statuses) == 1 and statuses[0][1] == IDLE


def test_a_post_after_a_borrowed_session_check_is_transactional_from_its_first_statement(
        client, make, two_companies, statuses):
    message = make.message(two_companies["a"])
    client.login_as(two_companies["a_buyer"])
    assert client.get("/shop/messages").status_code in (302, 303)  # the pool's connection went back in autocommit's stead
    statuses.clear()
    assert client.hx_post(f"/shop/messages/{message.id}/read").status_code == 204
    assert statuses and all(status == INTRANS for _, status in statuses)
