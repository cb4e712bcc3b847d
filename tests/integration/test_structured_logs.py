"""One JSON line per request and per actor run, joined by the request id."""
import json
import logging

import dramatiq

from komet.ops import logs


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
