"""/healthz and /readyz: cheap, never limited, honest about the database and the broker."""
import logging

import pytest
from flask_limiter import ApplicationLimit
from sqlalchemy.exc import OperationalError

from komet.extensions import db, limiter
from komet.ops import health


def test_healthz_answers_without_touching_the_database(client, queries):
    with queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert queries.count == 0


def test_readyz_is_one_query_when_database_broker_and_migrations_are_fine(client, queries):
    with queries:
        response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert queries.count == 1


def test_readyz_is_unavailable_when_the_database_is_behind_the_code(client, monkeypatch):
    monkeypatch.setattr(health, "head_revisions", lambda: frozenset({"9999"}))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "migrations not at head" in response.get_json()["checks"]["database"]


def test_readyz_is_unavailable_not_an_error_when_the_database_is_away(app, client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", refuse)
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "database unreachable: OperationalError",
                                             "broker": "ok"}


def test_readyz_is_unavailable_when_the_broker_does_not_answer(client, monkeypatch):
    class Silent:
        def ping(self):
            raise ConnectionError("redis is away")

    broker = health.dramatiq.get_broker()
    monkeypatch.setattr(broker, "client", Silent(), raising=False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["broker"] == "broker unreachable: ConnectionError"


@pytest.fixture
def tight_app_limit():
    """An application-wide limit of 3 a minute for one test (none is set by default)."""
    manager = limiter.limit_manager
    saved = manager._application_limits
    manager.set_application_limits([ApplicationLimit(limit_provider="3 per minute").bind(limiter)])
    yield
    manager.set_application_limits(saved)


def test_probes_are_never_rate_limited(client, tight_app_limit):
    for _ in range(20):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
    # the limit is real: any other page runs into it
    statuses = [client.get("/login").status_code for _ in range(5)]
    assert 429 in statuses


def test_gunicorn_drops_the_access_lines_of_probes_only():
    import importlib.util

    from tests.stack import ROOT

    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    keep = conf._DropProbes()

    def record(path):
        # gunicorn logs access lines with a single dict of atoms as the arguments
        return logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(r)s", ({"U": path},), None)

    assert not keep.filter(record("/healthz"))
    assert not keep.filter(record("/readyz"))
    assert keep.filter(record("/login"))
