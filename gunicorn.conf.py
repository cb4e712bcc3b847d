"""gunicorn settings read from the working directory (gunicorn loads ./gunicorn.conf.py).

Only one thing here: probes poll /healthz and /readyz every few seconds, and an access line
for each would drown the requests that matter, so their access lines are dropped (a
failing /readyz still logs its reason as a warning from komet.ops.health).
"""
import logging

PROBE_PATHS = ("/healthz", "/readyz")


class _DropProbes(logging.Filter):
    def filter(self, record):
        # gunicorn's access record carries the request in its args ("U" is the path).
        args = record.args if isinstance(record.args, dict) else {}
        return args.get("U") not in PROBE_PATHS


def on_starting(server):
    # The access logger is a module-level logger: a filter set in the arbiter is inherited by
    # every forked worker.
    logging.getLogger("gunicorn.access").addFilter(_DropProbes())


def child_exit(server, worker):
    # Multi-process metrics: a dead worker's live gauges must stop counting (its counters stay).
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
