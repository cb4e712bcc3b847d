"""/metrics: requests by endpoint and status, and the database's figures at scrape time."""
import re
import threading
from datetime import timedelta

import pytest

from config import TestingConfig
from komet import create_app
from komet.clock import utcnow
from komet.extensions import db
from komet.models import Email, EmailStatus
from komet.ops import heartbeats
from tests.faults import SMTPGate, closed_port
from workers import scheduler


def sample(text, name, **labels):
    """The value of one series in an exposition text (None when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{{{re.escape(wanted)}}} (\S+)$" if labels else rf"^{re.escape(name)} (\S+)$"
    match = re.search(pattern, text, re.M)
    return None if match is None else float(match.group(1))


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return response.get_data(as_text=True)


def test_requests_are_counted_by_endpoint_and_status_but_not_probes(client):
    before = scrape(client)
    client.get("/login")
    client.get("/no-such-page")
    client.get("/healthz")
    after = scrape(client)

    def grew(endpoint, status):
        name = "komet_http_requests_total"
        labels = {"endpoint": endpoint, "method": "GET", "status": status}
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert grew("auth.login", "200") == 1
    assert grew("unmatched", "404") == 1
    assert "health.healthz" not in after
    assert sample(after, "komet_http_request_duration_seconds_count", endpoint="auth.login", method="GET") >= 1


def test_database_figures_at_scrape_time(app, client):
    with app.app_context():
        now = utcnow()
        db.session.add_all([
            Email(kind="password_reset", to_address="a@example.com", status=EmailStatus.PENDING,
                  created_at=now - timedelta(minutes=7)),
            Email(kind="password_reset", to_address="b@example.com", status=EmailStatus.FAILED, created_at=now),
            Email(kind="password_reset", to_address="c@example.com", status=EmailStatus.SENT,
                  created_at=now - timedelta(hours=3)),
        ])
        db.session.commit()
        heartbeats.beat("worker", now=now - timedelta(seconds=150), host="host-a", pid=1234)
    text = scrape(client)
    assert sample(text, "komet_emails", state="pending") == 1
    assert sample(text, "komet_emails", state="sending") == 0
    assert sample(text, "komet_emails", state="failed") == 1
    assert 7 * 60 - 5 < sample(text, "komet_email_oldest_unsent_age_seconds") < 7 * 60 + 60
    assert 150 <= sample(text, "komet_heartbeat_age_seconds", host="host-a", pid="1234", process="worker") < 210
    # No scheduler ever beat: one series with no host and no pid, +Inf, for the alert to fire on.
    assert sample(text, "komet_heartbeat_age_seconds", host="", pid="", process="scheduler") == float("inf")


def test_metrics_are_not_rate_limited_and_add_no_query_to_pages(client, queries):
    client.get("/login")
    with queries:
        client.get("/login")
    baseline = queries.count
    scrape(client)
    with queries:
        client.get("/login")
    assert queries.count == baseline


def test_the_scheduler_counts_sweeps_and_transitions(app):
    def redrive():
        return 2

    before_ok = scheduler.SWEEPS.labels("redrive", "ok")._value.get()
    before_moved = scheduler.TRANSITIONS.labels("redrive")._value.get()
    scheduler._in_app_context(app, redrive)()
    assert scheduler.SWEEPS.labels("redrive", "ok")._value.get() == before_ok + 1
    assert scheduler.TRANSITIONS.labels("redrive")._value.get() == before_moved + 2


def test_queue_depth_counts_waiting_messages(app, client, make):
    staff = make.staff(make.company())
    client.form_post("/forgot-password", {"email": staff.email})
    assert sample(scrape(client), "komet_queue_depth", queue="emails") >= 1


def _scrape_in_time(client, bound=30):
    """GET /metrics on another thread: a scrape that hangs on the database fails the test
    after `bound` seconds instead of hanging it."""
    answer = []
    thread = threading.Thread(target=lambda: answer.append(client.get("/metrics")), daemon=True)
    thread.start()
    thread.join(bound)
    assert answer, f"/metrics did not answer within {bound} s"
    return answer[0]


@pytest.mark.parametrize("database", ["refusing", "silent"])
def test_metrics_answer_without_the_database_and_say_it_is_down(app, database):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("a database server on a port: PostgreSQL only")
    # "refusing": nothing listens on the port; "silent": it accepts and never answers (a
    # black-holed host), which only the connect timeout ends.
    with SMTPGate() as silent:
        port = closed_port() if database == "refusing" else silent.port
        away = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{port}/komet",
                          BROKER_URL=app.config["BROKER_URL"])
        client = away.test_client()
        response = _scrape_in_time(client)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert sample(text, "komet_database_up") == 0
        assert sample(text, "process_cpu_seconds_total") is not None  # the process's own metrics
        for unread in ("komet_emails", "komet_email_oldest_unsent_age_seconds", "komet_heartbeat_age_seconds"):
            assert not re.search(rf"^{unread}[{{ ]", text, re.M), unread
        assert client.get("/readyz").status_code == 503


def test_the_database_is_up_when_it_answers(client):
    assert sample(scrape(client), "komet_database_up") == 1
