"""gunicorn settings read from the working directory (gunicorn loads ./gunicorn.conf.py).

Probes poll /healthz and /readyz every few seconds, and an access line for each would drown
the requests that matter, so their access lines are dropped (a failing /readyz still logs its
reason as a warning from komet.ops.health).

/metrics must count the requests of every gunicorn worker, whichever one answers the scrape:
prometheus_client does that when PROMETHEUS_MULTIPROC_DIR names a directory where each
process writes its counters. When it is not set, the arbiter makes a fresh temporary one
(removed when gunicorn exits); a directory that is set is emptied at start, as the counters
of the last run are not this run's. The variable is read when prometheus_client is first
imported, in each worker after the fork, so the arbiter sets it in time unless the app is
preloaded (--preload imports it in the arbiter first: set the variable yourself then).
child_exit marks a dead worker's files, so its live gauges stop counting.
"""
import glob
import logging
import os
import shutil
import tempfile

PROBE_PATHS = ("/healthz", "/readyz")
_made = []  # the directory the arbiter created, removed on exit


class _DropProbes(logging.Filter):
    def filter(self, record):
        # gunicorn's access record carries the request in its args ("U" is the path).
        args = record.args if isinstance(record.args, dict) else {}
        return args.get("U") not in PROBE_PATHS


def on_starting(server):
    # The access logger is a module-level logger: a filter set in the arbiter is inherited by
    # every forked worker.
    logging.getLogger("gunicorn.access").addFilter(_DropProbes())
    _metrics_directory(server)


def _metrics_directory(server):
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        for name in glob.glob(os.path.join(path, "*.db")):
            os.remove(name)
    elif server.cfg.preload_app:  # too late: the arbiter has imported prometheus_client
        server.log.warning("--preload without PROMETHEUS_MULTIPROC_DIR: /metrics counts only the "
                           "requests of the worker that answers it")
    else:
        path = tempfile.mkdtemp(prefix="komet-web-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        _made.append(path)


def child_exit(server, worker):
    # A dead worker's live gauges must stop counting (its counters stay).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    for path in _made:
        shutil.rmtree(path, ignore_errors=True)
