"""Structured logs: one JSON line per request and per actor run, joined by a request id.

A ~20-line formatter rather than python-json-logger: we need one flat object per record and
nothing else, and no new dependency. The request id comes from the caller's X-Request-ID (if
it looks like one) or is made here; a dramatiq middleware copies it into the options of every
message enqueued while it is set, and sets it again in the worker while that message runs, so
`grep <id>` follows one email from the form post to the SMTP send.
"""
import contextvars
import json
import logging
import re
import threading
import time
import uuid

import dramatiq

request_id = contextvars.ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
log = logging.getLogger("komet.access")
actor_log = logging.getLogger("komet.actor")
# Alembic lists every plugin it sets up at INFO whenever Flask-Migrate loads it (each worker
# process at start): seven lines of noise per process. Its migration lines stay.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


class JsonFormatter(logging.Formatter):
    # Every request writes a line: one encoder for all of them, and the time formatted once a second.
    _encoder = json.JSONEncoder(default=str)
    _second = (None, "")

    def format(self, record):
        second, stamp = self._second
        if second != int(record.created):
            second = int(record.created)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(second))
            self._second = (second, stamp)
        line = {"ts": f"{stamp}.{int(record.msecs):03d}Z",
                "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        if (rid := request_id.get()) is not None:
            line["request_id"] = rid
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return self._encoder.encode(line)


JsonFormatter.converter = time.gmtime


def use_json(logger=None):
    """Put the JSON formatter on every handler of `logger` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        handler.setFormatter(JsonFormatter())


def init_app(app):
    from flask import g, request

    @app.before_request
    def _take_request_id():
        if "_komet_rid_token" in g:
            return  # a request run again after a dead database connection keeps its id
        given = request.headers.get("X-Request-ID", "")
        g._komet_rid_token = request_id.set(given if _SANE_ID.match(given) else uuid.uuid4().hex)
        g._komet_log_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.pop("_komet_log_started", None)
        rid = request_id.get()
        if rid:
            response.headers["X-Request-ID"] = rid
        if started is None:
            return response
        req = request._get_current_object()  # once, not through the proxy for each attribute
        # Probes are polled every few seconds: debug, not info.
        level = logging.DEBUG if req.blueprint == "health" else logging.INFO
        if log.isEnabledFor(level):
            # makeRecord + handle is log.log without its search of the call stack for a file and
            # line number, which no access line shows and which was most of its cost.
            method, path, status = req.method, req.path, response.status_code
            log.handle(log.makeRecord(log.name, level, __file__, 0, "%s %s %s", (method, path, status), None, extra={
                "request_id": rid, "method": method, "path": path, "endpoint": req.endpoint, "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)}))
        return response

    @app.teardown_request
    def _forget_request_id(exc):
        token = g.pop("_komet_rid_token", None)
        if token is not None:
            request_id.reset(token)


def trace_id():
    """The id to follow work started now by: the current request's (or actor run's), else a new one."""
    return request_id.get() or uuid.uuid4().hex


def message_options(trace_id):
    """Options of a message that must run under `trace_id` rather than the current request's id
    (a re-drive or a retry of work first done for another request)."""
    return {"request_id": trace_id} if trace_id else {}


class RequestIdMiddleware(dramatiq.Middleware):
    """Carries the request id into enqueued messages; logs one line per actor run in the worker."""

    def __init__(self):
        self._local = threading.local()  # the start time stays out of the message (retries re-send it)

    def before_enqueue(self, broker, message, delay):
        rid = request_id.get()
        if rid and "request_id" not in message.options:
            message.options["request_id"] = rid

    def before_process_message(self, broker, message):
        request_id.set(message.options.get("request_id") or message.message_id)
        self._local.started = time.perf_counter()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        started, self._local.started = getattr(self._local, "started", None), None
        actor_log.log(logging.INFO if exception is None else logging.WARNING, "%s %s", message.actor_name,
                      "failed" if exception else "done",
                      extra={"request_id": request_id.get(), "actor": message.actor_name, "message_id": message.message_id,
                             "outcome": "failed" if exception else "done", "retries": message.options.get("retries", 0),
                             "duration_ms": None if started is None else round((time.perf_counter() - started) * 1000, 1)})
        request_id.set(None)

    def after_skip_message(self, broker, message):
        self.after_process_message(broker, message)


def install_middleware():
    """Add the request-id middleware to the current broker once per process."""
    broker = dramatiq.get_broker()
    if not any(isinstance(m, RequestIdMiddleware) for m in broker.middleware):
        broker.add_middleware(RequestIdMiddleware())
