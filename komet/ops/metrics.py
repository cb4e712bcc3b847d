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
import os
import time

from flask import g, request
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from komet.ops import health, status

UNCOUNTED_BLUEPRINTS = {"health"}

REQUESTS = Counter("komet_http_requests_total", "HTTP requests answered, by endpoint, method and status.",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("komet_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint.",
                    ["endpoint", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def init_app(app):
    app.before_request(_start_timer)
    app.after_request(_count)


def _start_timer():
    g._komet_request_started = time.perf_counter()


def _count(response):
    started = g.pop("_komet_request_started", None)
    if started is None or request.blueprint in UNCOUNTED_BLUEPRINTS:
        return response
    endpoint = request.endpoint or "unmatched"  # a 404 has no endpoint: one series for all
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
    return response


class DatabaseCollector:
    """Gauges read from the database when Prometheus scrapes."""

    def collect(self):
        figures = status.snapshot()
        emails = GaugeMetricFamily("komet_emails", "Emails in the outbox by state (pending, sending, failed).",
                                   labels=["state"])
        for state, n in figures["emails"].items():
            emails.add_metric([state], n)
        yield emails
        yield GaugeMetricFamily("komet_email_oldest_unsent_age_seconds",
                                "Seconds the oldest email not yet sent has waited (0 when none waits).",
                                value=figures["oldest_unsent_age"])
        yield GaugeMetricFamily("komet_email_smtp_failing_seconds",
                                "Seconds the SMTP server has refused or not answered an email still unsent "
                                "(0 when none; a temporary refusal of one email does not count).",
                                value=figures["smtp_failing_age"])
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
        depth = GaugeMetricFamily("komet_queue_depth", "Messages waiting in each broker queue.", labels=["queue"])
        for queue, n in health.queue_depths().items():
            depth.add_metric([queue], n)
        yield depth


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
