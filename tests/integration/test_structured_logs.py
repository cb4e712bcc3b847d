"""One JSON line per request and per actor run, joined by the request id."""
import json
import logging
from datetime import timedelta

import dramatiq
from sqlalchemy import select, update

from komet.clock import utcnow
from komet.extensions import db
from komet.mail import outbox
from komet.models import Email, EmailStatus
from komet.ops import logs, operators


def test_the_formatter_writes_one_json_object_with_the_request_id_and_extras():
    record = logging.LogRecord("komet.access", logging.INFO, __file__, 1, "GET %s %s", ("/login", 200), None)
    record.status = 200
    token = logs.request_id.set("abc123")
    try:
        line = logs.JsonFormatter().format(record)
    finally:
        logs.request_id.reset(token)
    data = json.loads(line)
    assert "\n" not in line
    assert data["msg"] == "GET /login 200" and data["request_id"] == "abc123" and data["status"] == 200
    assert data["level"] == "INFO" and data["ts"].endswith("Z")


def test_a_request_is_logged_once_and_its_id_travels_into_the_email_actor(app, client, make, worker, caplog):
    staff = make.staff(make.company())
    caplog.set_level(logging.INFO)
    response = client.form_post("/forgot-password", {"email": staff.email},
                                headers={"X-Request-ID": "trace-me-42"})
    assert response.headers["X-Request-ID"] == "trace-me-42"
    access = [r for r in caplog.records if r.name == "komet.access" and r.path == "/forgot-password"]
    assert len(access) == 1 and access[0].status == response.status_code
    worker()
    runs = [r for r in caplog.records if r.name == "komet.actor"]
    assert runs and runs[0].actor == "send_email" and runs[0].outcome == "done"
    assert runs[0].request_id == "trace-me-42"  # the worker thread ran it under the request's id
    assert access[0].request_id == "trace-me-42"
    formatted = [json.loads(logs.JsonFormatter().format(r)) for r in runs]
    assert all("duration_ms" in f for f in formatted)


def test_enqueued_messages_carry_the_request_id(app, client, make):
    staff = make.staff(make.company())
    broker = dramatiq.get_broker()
    client.form_post("/forgot-password", {"email": staff.email}, headers={"X-Request-ID": "trace-me-43"})
    messages = [m for q in broker.queues.values() for m in list(q.queue)]
    decoded = [dramatiq.Message.decode(m) if isinstance(m, bytes) else m for m in messages]
    assert any(m.options.get("request_id") == "trace-me-43" for m in decoded), decoded


def test_an_odd_request_id_is_replaced_and_probes_log_at_debug(client, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.get("/healthz", headers={"X-Request-ID": "x" * 200})
    rid = response.headers["X-Request-ID"]
    assert len(rid) == 32
    probe = [r for r in caplog.records if r.name == "komet.access" and r.path == "/healthz"]
    assert probe and probe[0].levelno == logging.DEBUG


def _sends_logged(caplog):
    """The JSON lines the worker wrote for its email sends, oldest first."""
    return [json.loads(logs.JsonFormatter().format(r)) for r in caplog.records
            if r.name == "komet.actor" and r.actor == "send_email"]


def _lose_the_message_and_make_it_due(app, email_id):
    dramatiq.get_broker().flush_all()  # the broker lost it (restarted, or was down when asked)
    with app.app_context():
        db.session.execute(update(Email).where(Email.id == email_id)
                           .values(enqueued_at=utcnow() - timedelta(hours=1)))
        db.session.commit()


def test_a_re_driven_email_is_logged_under_the_request_that_queued_it(app, client, make, request, caplog):
    staff = make.staff(make.company())
    caplog.set_level(logging.INFO)
    client.form_post("/forgot-password", {"email": staff.email}, headers={"X-Request-ID": "trace-me-44"})
    with app.app_context():
        email_id = db.session.scalar(select(Email.id).where(Email.to_address == staff.email))
    _lose_the_message_and_make_it_due(app, email_id)
    with app.app_context():
        assert outbox.redrive() == 1  # as the scheduler does: no request of its own

    request.getfixturevalue("worker")()
    sends = _sends_logged(caplog)
    assert [(s["request_id"], s["outcome"]) for s in sends] == [("trace-me-44", "done")]


def test_a_retried_email_is_logged_under_the_request_that_queued_it(app, client, make, worker, caplog):
    staff = make.staff(make.company())
    with app.app_context():
        operators.create_operator("ops@example.com", password="correct horse battery")
    client.form_post("/forgot-password", {"email": staff.email}, headers={"X-Request-ID": "trace-me-45"})
    worker()
    with app.app_context():  # say SMTP refused it until the give-up
        email_id = db.session.scalar(select(Email.id).where(Email.to_address == staff.email))
        db.session.execute(update(Email).where(Email.id == email_id).values(status=EmailStatus.FAILED))
        db.session.commit()
    caplog.set_level(logging.INFO)
    operator = app.test_client()
    operator.form_post("/login", {"email": "ops@example.com", "password": "correct horse battery"})
    operator.form_post(f"/operator/emails/{email_id}/retry", headers={"X-Request-ID": "operator-click-1"})
    worker()
    assert [s["request_id"] for s in _sends_logged(caplog)] == ["trace-me-45"]
    retried = [json.loads(logs.JsonFormatter().format(r)) for r in caplog.records if r.name == "komet.mail.outbox"]
    assert [(r["request_id"], r["trace_id"]) for r in retried] == [("operator-click-1", "trace-me-45")]
