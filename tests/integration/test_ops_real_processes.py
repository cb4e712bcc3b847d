"""Done when: with the real processes, a stopped worker, a stopped scheduler and an SMTP server
that never answers each show within a minute on /readyz, /metrics and the operator page, and
restarting the part brings every figure back.

Thresholds are seconds here (env vars) so the test is quick; bounds on time are generous.
"""
import re
import urllib.request

import pytest

from komet.ops import operators
from tests.faults import SMTPGate, wait_until
from tests.integration.test_real_processes import Browser
from tests.stack import Stack

STALE = 3  # seconds, for the heartbeats and the oldest unsent email
OPERATOR = "ops@example.com"
PASSWORD = "correct horse battery"


def within_a_minute(condition, timeout=60):
    return wait_until(condition, timeout)


def _metric(stack, name, **labels):
    """The largest value among the series of `name` that carry `labels` (heartbeats have one
    series per process: the worst one is what an alert sees)."""
    with urllib.request.urlopen(stack.url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    values = [float(value) for series, value in re.findall(rf"^{re.escape(name)}({{.*}})? (\S+)$", text, re.M)
              if all(f'{k}="{v}"' in series for k, v in labels.items())]
    return max(values, default=None)


def _readyz(stack):
    with urllib.request.urlopen(stack.url + "/readyz", timeout=10) as response:
        return response.status


def _stuck(browser, part):
    _, page = browser.get("/operator/")
    return f'data-part="{part}" data-stuck="yes"' in page


def _start(stack, name):
    if name == "worker":
        stack.start_worker()
    else:
        stack.start_scheduler()


@pytest.fixture
def smtp_gate(smtp_sink):
    with SMTPGate(target_port=smtp_sink.port) as gate:
        gate.open()  # answers (piped to the sink) unless a test closes it
        yield gate


def _stack(app, port, smtp_sink, tmp_path, **env):
    return Stack(app.config["SQLALCHEMY_DATABASE_URI"], port, smtp_sink.path, tmp_path,
                 WORKER_HEARTBEAT_SECONDS="0.5", SCHEDULER_HEARTBEAT_SECONDS="0.5", SCHEDULER_INTERVAL_SECONDS="1",
                 OPS_HEARTBEAT_STALE_SECONDS=str(STALE), OPS_EMAIL_STALE_SECONDS=str(STALE),
                 WORKER_STUCK_AFTER_SECONDS=str(STALE), OUTBOX_REDRIVE_AFTER_SECONDS="2",
                 OUTBOX_RETRY_MIN_SECONDS="1", OUTBOX_RETRY_MAX_SECONDS="2", **env)


@pytest.fixture
def ops_stack(app, smtp_sink, tmp_path):
    with _stack(app, smtp_sink.port, smtp_sink, tmp_path) as running:
        yield running


def _operator_browser(app, stack):
    with app.app_context():
        operators.create_operator(OPERATOR, password=PASSWORD)
    browser = Browser(stack.url)
    status, _ = browser.submit("/login", {"email": OPERATOR, "password": PASSWORD})
    assert status == 200
    return browser


def _all_well(stack, browser):
    return (_metric(stack, "komet_heartbeat_age_seconds", process="worker") < STALE
            and _metric(stack, "komet_heartbeat_age_seconds", process="scheduler") < STALE
            and _metric(stack, "komet_email_oldest_unsent_age_seconds") < STALE
            and not any(_stuck(browser, part) for part in ("worker", "scheduler", "email")))


@pytest.mark.parametrize("part", ["worker", "scheduler"])
def test_a_stopped_process_shows_within_a_minute_and_recovers(app, make, ops_stack, smtp_sink, part):
    browser = _operator_browser(app, ops_stack)
    assert within_a_minute(lambda: _all_well(ops_stack, browser)), ops_stack.log(part)[-3000:]

    ops_stack.kill(part)
    assert _readyz(ops_stack) == 200
    first = _metric(ops_stack, "komet_heartbeat_age_seconds", process=part)
    assert within_a_minute(lambda: _metric(ops_stack, "komet_heartbeat_age_seconds", process=part) > STALE)
    assert _metric(ops_stack, "komet_heartbeat_age_seconds", process=part) > first  # it grows
    assert _stuck(browser, part)
    other = "scheduler" if part == "worker" else "worker"
    assert not _stuck(browser, other)
    if part == "worker":  # an email written now waits: the oldest-unsent figure crosses the line
        staff = make.staff(make.company())
        Browser(ops_stack.url).submit("/forgot-password", {"email": staff.email})
        assert within_a_minute(lambda: _metric(ops_stack, "komet_email_oldest_unsent_age_seconds") > STALE)
        assert _stuck(browser, "email")
    assert _readyz(ops_stack) == 200

    _start(ops_stack, part)
    assert within_a_minute(lambda: _all_well(ops_stack, browser)), ops_stack.log(part)[-3000:]


def test_an_smtp_server_that_never_answers_shows_the_worker_and_email_stuck(app, make, smtp_sink, smtp_gate,
                                                                          tmp_path):
    # MAIL_TIMEOUT far above the stuck threshold: the one worker thread sits in the SMTP read.
    # A short lease: after the restart the stuck send is handed over in seconds, not 5 minutes.
    running = _stack(app, smtp_gate.port, smtp_sink, tmp_path, MAIL_TIMEOUT="40", OUTBOX_LEASE_SECONDS="5")
    try:
        running.start_web()
        running.start_worker()
        running.start_scheduler()
        browser = _operator_browser(app, running)
        assert within_a_minute(lambda: _all_well(running, browser)), running.log("worker")[-3000:]

        smtp_gate.silent = True  # new connections are accepted and never hear a word
        staff = make.staff(make.company())
        Browser(running.url).submit("/forgot-password", {"email": staff.email})
        assert within_a_minute(lambda: _metric(running, "komet_heartbeat_age_seconds", process="worker") > STALE)
        assert within_a_minute(lambda: _metric(running, "komet_email_oldest_unsent_age_seconds") > STALE)
        assert _readyz(running) == 200
        assert _stuck(browser, "worker") and _stuck(browser, "email") and not _stuck(browser, "scheduler")

        running.kill("worker")  # the operator's remedy: restart it, with SMTP back
        smtp_gate.open()
        running.start_worker()
        assert within_a_minute(lambda: _all_well(running, browser), timeout=90), running.log("worker")[-3000:]
        assert within_a_minute(lambda: smtp_sink.to(staff.email))
    finally:
        running.stop()
