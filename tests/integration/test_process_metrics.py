"""Metrics of every process, on by default: the worker's and the scheduler's own ports, and the
web's /metrics adding up every gunicorn worker. Real processes, as the Procfile starts them."""
import logging
import re
import signal
import socket
import urllib.request
from pathlib import Path

import pytest

from komet.ops import heartbeats
from tests.faults import wait_until
from tests.integration.test_metrics import sample
from tests.integration.test_real_processes import Browser
from tests.stack import Stack
from workers import scheduler


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


@pytest.fixture
def running(app, smtp_sink, tmp_path):
    stack = Stack(app.config["SQLALCHEMY_DATABASE_URI"], smtp_sink.port, smtp_sink.path, tmp_path,
                  SCHEDULER_INTERVAL_SECONDS="1")
    try:
        yield stack
    finally:
        stack.stop()


def test_the_worker_and_the_scheduler_serve_their_metrics_without_being_asked(running, make, smtp_sink):
    running.start_web()
    running.start_worker()
    running.start_scheduler()
    staff = make.staff(make.company())
    Browser(running.url).submit("/forgot-password", {"email": staff.email})
    assert len(smtp_sink.wait_for(1, address=staff.email)) == 1

    def sends():  # every worker process's files, added up by the process dramatiq forks
        text = _get(running.worker_metrics_url)
        return sample(text, "dramatiq_messages_total", actor_name="send_email", queue_name="emails")

    assert wait_until(lambda: sends() == 1, timeout=30), _get(running.worker_metrics_url) or running.log("worker")
    assert wait_until(lambda: (sample(_get(running.scheduler_metrics_url), "komet_scheduler_sweeps_total",
                                      job="sweep", outcome="ok") or 0) >= 1, timeout=30), running.log("scheduler")


def test_a_scheduler_whose_metrics_port_is_taken_warns_and_runs_on(caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="komet.scheduler"):
            assert scheduler.serve_metrics("127.0.0.1", port) is False
    assert f"scheduler metrics not served on 127.0.0.1:{port}" in caplog.text
    assert scheduler.serve_metrics("127.0.0.1", 0) is False  # 0: off


def _held_request(url):
    """A GET whose headers are not finished: the sync worker that accepted it waits on it, so
    every other request meanwhile goes to the other worker."""
    host, port = url.removeprefix("http://").split(":")
    held = socket.create_connection((host, int(port)), timeout=10)
    held.sendall(b"GET /forgot-password HTTP/1.1\r\nHost: komet\r\n")
    return held


def _finish(held):
    with held:
        held.sendall(b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := held.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


def test_web_metrics_count_the_requests_of_every_gunicorn_worker_whichever_answers(running):
    # Two single-threaded workers: one is kept busy by a request still being sent, so the other
    # answers the next twenty; then the first answers its own. Which worker takes the scrape
    # does not matter: it must count the other's requests too. The page counted is not /login:
    # the stack's readiness probe polls /login with a short timeout, and a probe it gave up on
    # under load is still answered, and counted, after `before` was read.
    running.start_web("--workers", "2", "--threads", "1", "--access-logfile", "-",
                      "--access-logformat", "answered-by %(p)s %(U)s")

    def logins():
        return sample(_get(running.url + "/metrics"), "komet_http_requests_total",
                      endpoint="auth.forgot_password", method="GET", status="200") or 0

    before = logins()
    held = _held_request(running.url)
    assert all(_get(running.url + "/forgot-password") for _ in range(20))
    assert _finish(held) == b"HTTP/1.1 200 OK"
    answered_by = set(re.findall(r"answered-by <(\d+)> /forgot-password", running.log("web")))
    assert len(answered_by) == 2, running.log("web")[-3000:]  # else the test proves nothing

    assert [logins() - before for _ in range(6)] == [21] * 6


def _dead_pids_with_files(directory):
    """Pids named by a metrics file in `directory` whose process is gone."""
    pids = {int(m) for m in re.findall(r"_(\d+)\.db$", "\n".join(p.name for p in directory.iterdir()), re.M)}
    return sorted(pid for pid in pids if not heartbeats.alive(pid))


def test_worker_totals_survive_restarts_and_dead_processes_leave_no_files(running, make, smtp_sink):
    # A clean stop (SIGTERM), a crash (SIGKILL), then one more email: the total counts each
    # email once, and no file of a process that is gone stays behind to be read at every scrape.
    running.start_web()
    running.start_worker()
    directory = Path(running.env["dramatiq_prom_db"])

    def sends():
        return sample(_get(running.worker_metrics_url), "dramatiq_messages_total", actor_name="send_email",
                      queue_name="emails")

    for sent, stop in enumerate([signal.SIGTERM, signal.SIGKILL, None], start=1):
        staff = make.staff(make.company())
        Browser(running.url).submit("/forgot-password", {"email": staff.email})
        assert len(smtp_sink.wait_for(1, address=staff.email)) == 1
        assert wait_until(lambda: sends() == sent, timeout=30), (sends(), running.log("worker")[-3000:])
        if stop is not None:
            running.kill("worker", stop)
            running.start_worker()
            assert wait_until(lambda: sends() is not None, timeout=30), running.log("worker")[-3000:]
            assert sends() == sent  # neither dropped nor doubled by the restart
            assert _dead_pids_with_files(directory) == []
    assert (directory / "counter_archive.db").exists()
