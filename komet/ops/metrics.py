"""Prometheus metrics of the web process, with prometheus_client directly.

Why not prometheus-flask-exporter: the two metrics we want (requests by endpoint, method and
status; latency by endpoint) are a before/after_request pair on prometheus_client, which we
need anyway for the database gauges, and which dramatiq's own Prometheus middleware uses in
the worker; the exporter would add a layer whose gunicorn support is that same
prometheus_client multiprocess mode.

Requests are labelled by endpoint (the route's name), never by path, so ids in URLs do not
make a series each. Probes and /metrics itself are not counted: a failing /readyz is not a
user seeing a 5xx.

gunicorn runs several processes: with PROMETHEUS_MULTIPROC_DIR set every process writes its
counters there and /metrics adds them up, whichever process answers. gunicorn.conf.py sets it
by default (a fresh temporary directory made by the arbiter before it forks, or the one given,
emptied at start) and marks a dead worker's files. Without it (e.g. `flask run`, or gunicorn
--preload with the variable unset) each process reports only its own counters.

The database figures (emails by state, oldest unsent email, each process's heartbeat age) and
the broker's queue depths are computed at scrape time by a collector, once per scrape whichever
process answers it.
"""
import logging
import os
import time

from flask import g, request
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import text

from komet.extensions import db
from komet.ops import health, status

log = logging.getLogger(__name__)

UNCOUNTED_BLUEPRINTS = {"health"}
# The database's reads at scrape time may take this long on PostgreSQL (a locked table must
# not hold the scrape past Prometheus's 10-second scrape timeout).
STATEMENT_TIMEOUT_MS = 2000

REQUESTS = Counter("komet_http_requests_total", "HTTP requests answered, by endpoint, method and status.",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("komet_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint.",
                    ["endpoint", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


# (endpoint, method, status) -> the counter's and the histogram's series: `labels()` checks its
# arguments and takes a lock on every call, this is one dict lookup per request.
_series = {}


def init_app(app):
    app.before_request(_start_timer)
    app.after_request(_count)


def _start_timer():
    g._komet_request_started = time.perf_counter()


def _count(response):
    started = g.pop("_komet_request_started", None)
    if started is None or request.blueprint in UNCOUNTED_BLUEPRINTS:
        return response
    key = (request.endpoint or "unmatched", request.method, response.status_code)  # a 404 has no endpoint: one series
    series = _series.get(key)
    if series is None:
        series = _series[key] = (REQUESTS.labels(key[0], key[1], str(key[2])), LATENCY.labels(key[0], key[1]))
    series[0].inc()
    series[1].observe(time.perf_counter() - started)
    return response


class DatabaseCollector:
    """Gauges read from the database when Prometheus scrapes, and whether it answered.

    With the database away the scrape still answers (that is when an operator needs it):
    `komet_database_up 0`, the process counters and the queue depths, without the gauges it
    could not read. The wait is bounded by the connection's connect timeout
    (DATABASE_CONNECT_TIMEOUT) and, on PostgreSQL, a statement timeout on these reads.
    """

    def collect(self):
        figures = _read_database()
        yield GaugeMetricFamily("komet_database_up", "1 when the database answered this scrape, 0 when not.",
                                value=0 if figures is None else 1)
        if figures is not None:
            yield from _database_gauges(figures)
        depth = GaugeMetricFamily("komet_queue_depth", "Messages waiting in each broker queue.", labels=["queue"])
        for queue, n in health.queue_depths().items():
            depth.add_metric([queue], n)
        yield depth


def _read_database():
    """`status.snapshot()`, or None when the database does not answer (logged)."""
    try:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"SET LOCAL statement_timeout = {int(STATEMENT_TIMEOUT_MS)}"))
        figures = status.snapshot()
        db.session.rollback()  # ends the read (and the SET LOCAL with it)
        return figures
    except Exception as exc:  # any driver error: the scrape answers without these gauges
        db.session.rollback()
        log.warning("metrics without the database's gauges: %s: %s", type(exc).__name__, exc)
        return None


def _database_gauges(figures):
    emails = GaugeMetricFamily("komet_emails", "Emails in the outbox by state (pending, sending, failed).",
                               labels=["state"])
    for state, n in figures["emails"].items():
        emails.add_metric([state], n)
    yield emails
    yield GaugeMetricFamily("komet_email_oldest_unsent_age_seconds",
                            "Seconds the oldest email not yet sent has waited (0 when none waits).",
                            value=figures["oldest_unsent_age"])
    ages = GaugeMetricFamily("komet_heartbeat_age_seconds",
                             "Seconds since each worker or scheduler process last did its work "
                             "(one +Inf series without host and pid: none of that role ever did).",
                             labels=["process", "host", "pid"])
    for role, processes in figures["processes"].items():
        if not processes:  # an empty label is no label to Prometheus: {process="worker"} +Inf
            ages.add_metric([role, "", ""], float("inf"))
        for process in processes:
            ages.add_metric([role, process.host, str(process.pid)], process.age)
    yield ages
    ended = GaugeMetricFamily("komet_heartbeat_process_ended",
                              "1 when the process's pid is gone on the host of the web process that answers "
                              "(same host and PID namespace), so it is known stopped before its beat goes stale; "
                              "0 otherwise (running, or not knowable from here).",
                              labels=["process", "host", "pid"])
    for role, processes in figures["processes"].items():
        for process in processes:
            ended.add_metric([role, process.host, str(process.pid)], 1 if process.ended else 0)
    yield ended


def exposition():
    """(body, content type) of /metrics: this process's (or all processes') counters, then the database's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return generate_latest(registry) + generate_latest(database), CONTENT_TYPE_LATEST
