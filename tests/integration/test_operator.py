"""The operator page: only platform operators see it; it says which part is stuck."""
import re
import subprocess
import sys
from datetime import timedelta

import pytest

from komet.clock import utcnow
from komet.extensions import db
from komet.models import AuditEvent, Email, EmailStatus, User
from komet.ops import heartbeats, operators
from tests.integration.test_metrics import sample


@pytest.fixture
def operator(app):
    with app.app_context():
        user, password = operators.create_operator("Ops@Example.com", password="correct horse battery")
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def test_the_cli_creates_an_operator_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["operator", "create", "ops@example.com"])
    assert result.exit_code == 0 and "Password (shown once):" in result.output
    again = runner.invoke(args=["operator", "create", "OPS@example.com"])
    assert again.exit_code == 0 and "Password" not in again.output
    with app.app_context():
        users = db.session.query(User).filter_by(email="ops@example.com").all()
        assert len(users) == 1 and users[0].is_operator


def test_sellers_staff_buyers_and_strangers_get_403_on_every_operator_url(app, client, two_companies, make):
    failed = make.email(two_companies["a"], status=EmailStatus.FAILED)
    with app.app_context():
        heartbeats.beat("worker", now=utcnow() - timedelta(hours=2), host="gone-host", pid=99)
        [gone] = heartbeats.processes()
    urls = [("get", "/operator/"), ("post", f"/operator/emails/{failed.id}/retry"),
            ("post", f"/operator/processes/{gone.id}/forget")]
    for who in (None, two_companies["a_admin"], two_companies["a_buyer"]):
        visitor = app.test_client()
        if who is not None:
            visitor.login_as(who)
        for method, url in urls:
            response = visitor.get(url) if method == "get" else visitor.form_post(url)
            assert response.status_code == 403, (who, url)
    with app.app_context():
        assert db.session.get(Email, failed.id).status == EmailStatus.FAILED
        assert [p.host for p in heartbeats.processes()] == ["gone-host"]
        assert db.session.query(AuditEvent).count() == 0


def test_an_operator_logs_in_to_the_operator_page(client, operator):
    response = client.form_post("/login", {"email": "ops@example.com", "password": "correct horse battery"})
    assert response.status_code == 303 and response.location.endswith("/operator/")
    assert client.get("/operator/").status_code == 200


def _log_in(client):
    client.form_post("/login", {"email": "ops@example.com", "password": "correct horse battery"})


def test_a_stuck_worker_is_named_although_another_worker_beats(app, client, operator):
    _log_in(client)
    with app.app_context():
        now = utcnow()
        heartbeats.beat("worker", "0 in hand, 12 processed", now=now - timedelta(seconds=140),
                        host="host-a", pid=1234)
        heartbeats.beat("worker", "0 in hand, 30 processed", now=now, host="host-b", pid=5678)
        heartbeats.beat("scheduler", now=now, host="host-a", pid=4321)
    page = client.get("/operator/").get_data(as_text=True)
    assert 'data-part="worker" data-stuck="yes"' in page
    assert re.search(r"Worker 1234 on host-a is stuck: it last checked in 14\d s ago\.", page)
    assert "5678 on host-b is stuck" not in page
    assert 'data-part="scheduler" data-stuck="no"' in page and "The scheduler is working" in page
    assert page.count('data-process="worker"') == 2 and "host-b" in page and "30 processed" in page

    metrics = client.get("/metrics").get_data(as_text=True)
    stale = sample(metrics, "komet_heartbeat_age_seconds", host="host-a", pid="1234", process="worker")
    fresh = sample(metrics, "komet_heartbeat_age_seconds", host="host-b", pid="5678", process="worker")
    assert stale > 30 > fresh  # the alert's threshold: KometWorkerStuck fires for worker 1234


def test_a_role_with_no_process_has_never_checked_in(app, client, operator):
    _log_in(client)
    with app.app_context():
        heartbeats.beat("scheduler", now=utcnow(), host="host-a", pid=4321)
    page = client.get("/operator/").get_data(as_text=True)
    assert 'data-part="worker" data-stuck="yes"' in page and "The worker has never checked in." in page


def test_the_page_says_which_part_is_stuck_and_retries_a_failed_email_of_no_company(app, client, operator):
    with app.app_context():
        now = utcnow()
        heartbeats.beat("worker", now=now - timedelta(seconds=600))
        heartbeats.beat("scheduler", now=now)
        reset = Email(kind="password_reset", to_address="lost@example.com", status=EmailStatus.FAILED,
                      attempts=7, last_error="SMTPServerDisconnected: timed out")
        waiting = Email(kind="password_reset", to_address="wait@example.com", status=EmailStatus.PENDING,
                        created_at=now - timedelta(minutes=6))
        db.session.add_all([reset, waiting])
        db.session.commit()
        reset_id = reset.id
    client.form_post("/login", {"email": "ops@example.com", "password": "correct horse battery"})
    page = client.get("/operator/").get_data(as_text=True)
    assert 'data-part="worker" data-stuck="yes"' in page and "is stuck: it last checked in" in page
    assert 'data-part="scheduler" data-stuck="no"' in page
    assert 'data-part="email" data-stuck="yes"' in page
    assert "lost@example.com" in page and "SMTPServerDisconnected" in page

    response = client.form_post(f"/operator/emails/{reset_id}/retry")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Email, reset_id).status == EmailStatus.PENDING
    assert "lost@example.com" not in client.get("/operator/").get_data(as_text=True)


def test_an_operator_forgets_a_process_whose_machine_is_gone(app, client, operator):
    _log_in(client)
    with app.app_context():
        now = utcnow()
        heartbeats.beat("worker", "0 in hand, 7 processed", now=now - timedelta(hours=3), host="gone-host", pid=1234)
        heartbeats.beat("worker", now=now, host="host-b", pid=5678)
        gone = next(p for p in heartbeats.processes() if p.host == "gone-host")
    page = client.get("/operator/").get_data(as_text=True)
    assert "Worker 1234 on gone-host is stuck" in page
    # The app's confirmation before a destructive action, naming what goes.
    assert re.search(r'data-confirm="Forget Worker 1234 on gone-host\?', page)
    assert page.count("Forget this process") == 1  # only the stuck one offers it

    assert client.post(f"/operator/processes/{gone.id}/forget").status_code == 400  # no CSRF token
    response = client.hx_post(f"/operator/processes/{gone.id}/forget")
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/operator/"

    page = client.get("/operator/").get_data(as_text=True)
    assert "gone-host" not in page.replace("Worker 1234 on gone-host is forgotten", "")
    assert "Worker 1234 on gone-host is forgotten" in page  # the flash, once
    assert 'data-part="worker" data-stuck="no"' in page
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'host="gone-host"' not in metrics and 'host="host-b"' in metrics
    with app.app_context():
        [event] = db.session.query(AuditEvent).all()
        assert (event.action, event.company_id, event.actor_id) == ("process_forgotten", None, operator.id)
        assert event.detail.startswith("Worker 1234 on gone-host (last heartbeat 108")
    assert client.form_post(f"/operator/processes/{gone.id}/forget").status_code == 404  # already gone


def test_a_process_of_this_host_whose_pid_is_gone_is_named_at_once(app, client, operator):
    # The web and the worker share the host and its pids: a dead pid needs no 30 s of silence.
    # A row of another PID namespace (another container with the same host name) is not judged.
    _log_in(client)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host, _ = heartbeats.this_process()
    with app.app_context():
        heartbeats.beat("worker", host=host, pid=dead.pid, namespace=heartbeats.pid_namespace())
        heartbeats.beat("scheduler", host=host, pid=dead.pid, namespace="pid:[1]")
    page = client.get("/operator/").get_data(as_text=True)
    assert re.search(rf"Worker {dead.pid} on {re.escape(host)} is stuck: its process has ended; it last checked in "
                     r"\d s ago\.", page)
    assert 'data-part="scheduler" data-stuck="no"' in page
    metrics = client.get("/metrics").get_data(as_text=True)
    assert sample(metrics, "komet_heartbeat_process_ended", host=host, pid=str(dead.pid), process="worker") == 1
    assert sample(metrics, "komet_heartbeat_process_ended", host=host, pid=str(dead.pid), process="scheduler") == 0


def _beating(now):
    heartbeats.beat("worker", now=now, host="host-a", pid=1234)
    heartbeats.beat("scheduler", now=now, host="host-a", pid=4321)


def test_smtp_that_refuses_is_called_stuck_within_a_minute_and_exported(app, client, operator):
    _log_in(client)
    with app.app_context():
        now = utcnow()
        _beating(now)
        db.session.add(Email(kind="password_reset", to_address="wait@example.com", status=EmailStatus.PENDING,
                             attempts=2, created_at=now - timedelta(seconds=70), enqueued_at=now,
                             failing_since=now - timedelta(seconds=70),
                             last_error="ConnectionRefusedError: [Errno 111] Connection refused"))
        db.session.commit()
    page = client.get("/operator/").get_data(as_text=True)
    assert 'data-part="email" data-stuck="yes"' in page
    assert "the SMTP server refuses or does not answer (for 7" in page and "Connection refused" in page
    metrics = client.get("/metrics").get_data(as_text=True)
    assert sample(metrics, "komet_email_smtp_failing_seconds") >= 70  # KometEmailStuck: > 45 for 1 minute


def test_an_email_waiting_for_its_retry_after_a_temporary_refusal_says_when_it_is_tried_next(app, client, operator):
    _log_in(client)
    with app.app_context():
        now = utcnow()
        _beating(now)
        db.session.add(Email(kind="password_reset", to_address="busy@example.com", status=EmailStatus.PENDING,
                             attempts=1, created_at=now - timedelta(seconds=20), enqueued_at=now - timedelta(seconds=20),
                             last_error="SMTPRecipientsRefused: {'busy@example.com': (450, b'mailbox busy')}"))
        db.session.commit()
    page = client.get("/operator/").get_data(as_text=True)
    next_try = (now - timedelta(seconds=20) + timedelta(seconds=app.config["OUTBOX_RETRY_MIN_SECONDS"]))
    assert 'data-part="email" data-stuck="no"' in page
    assert (f"1 email waits for its next try after a temporary refusal, the next at "
            f"{next_try.strftime('%H:%M:%S')} UTC") in page
    assert sample(client.get("/metrics").get_data(as_text=True), "komet_email_smtp_failing_seconds") == 0
