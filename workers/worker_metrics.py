"""The worker's Prometheus metrics: dramatiq's own middleware, on by default.

dramatiq's `Prometheus` middleware counts messages processed, failed, retried and in progress
and their durations. Every worker process writes them to files in `dramatiq_prom_db` (a
prometheus_client multiprocess directory, /tmp/dramatiq-prometheus by default), and one
process that dramatiq's CLI forks serves the sum on WORKER_METRICS_HOST:WORKER_METRICS_PORT
(127.0.0.1:9191; port 0 turns the metrics off).

Two things here that the middleware alone gets wrong in this app:
- prometheus_client picks file-backed values only if PROMETHEUS_MULTIPROC_DIR is set when it
  is first imported, and `create_app` imports it (komet.ops.metrics) before the middleware
  sets the variable: the counters stayed in each process's memory and the server served an
  empty page. `prepare_process` sets it first.
- The forked server crashed with a traceback when the port was taken (a second worker
  command on the host). Here that is a warning: the first one's server already serves the
  directory that both write to.
"""
import glob
import logging
import os
from http.server import HTTPServer

from dramatiq.middleware import prometheus

from config import config_from_env

log = logging.getLogger("komet.worker")


def address():
    """(host, port) the worker metrics are served on; port 0: not at all."""
    config = config_from_env()
    return config.WORKER_METRICS_HOST, config.WORKER_METRICS_PORT


def prepare_process():
    """Point prometheus_client at dramatiq's directory; call before anything imports it."""
    if not address()[1]:
        return
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = prometheus.DB_PATH
    _forget_dead_gauges(prometheus.DB_PATH)


def _forget_dead_gauges(path):
    # A worker killed with SIGKILL never marks itself dead: its "in progress" gauge would count
    # forever. Counters of dead processes stay (they only ever add up).
    # Imported here, after PROMETHEUS_MULTIPROC_DIR is set (see above).
    from prometheus_client import multiprocess

    from komet.ops.heartbeats import alive

    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = int(name.rsplit("_", 1)[1].split(".")[0])
        if not alive(pid):
            multiprocess.mark_process_dead(pid, path)


class WorkerMetrics(prometheus.Prometheus):
    """dramatiq's middleware, serving through `serve` instead of its own server function."""

    @property
    def forks(self):
        return [serve]


def serve():
    """Run in the process dramatiq's CLI forks: serve every worker process's metrics."""
    host, port = address()
    try:
        server = HTTPServer((host, port), prometheus._metrics_handler)
    except OSError as exc:
        log.warning("worker metrics not served on %s:%s (%s); another worker on this host serves "
                    "the same directory", host, port, exc)
        return 0
    server.serve_forever()
    return 0
