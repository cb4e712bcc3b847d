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
- Every worker process writes files named by its pid, and nothing removed those of processes
  that are gone: the directory (and each scrape's work) grew with every restart. At start and
  at exit, `compact` does what prometheus_client's multiprocess mode expects for a dead pid
  (`mark_process_dead`: its live gauges go), drops its per-pid gauges, and folds its counters
  and histograms into `counter_archive.db` / `histogram_archive.db`, so the totals neither drop
  nor double. Crash-safe with a journal; one process at a time (a lock file), and the metrics
  server reads under the same lock, so no scrape sees a total twice or not at all.
"""
import contextlib
import fcntl
import glob
import json
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
    compact(prometheus.DB_PATH)


ARCHIVE = "archive"  # the "pid" of the files holding the totals of processes that are gone
ADDED_UP = ("counter", "histogram")  # types whose values add up across processes


@contextlib.contextmanager
def _locked(path, mode):
    with open(os.path.join(path, "compact.lock"), "a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pids(path):
    """{pid: [its files]} of the per-process files in `path`."""
    found = {}
    for name in glob.glob(os.path.join(path, "*_*.db")):
        pid = os.path.basename(name).rsplit("_", 1)[1][:-3]
        if pid.isdigit():
            found.setdefault(int(pid), []).append(name)
    return found


def compact(path, exiting=None):
    """Clear the files of processes that are gone (and of `exiting`, this process at its exit),
    keeping their counters and histograms in the archive files; returns the pids cleared."""
    # Imported here, after PROMETHEUS_MULTIPROC_DIR is set (see above).
    from prometheus_client import multiprocess

    from komet.ops.heartbeats import alive

    with _locked(path, fcntl.LOCK_EX):
        _finish_journal(path)
        gone = {pid: files for pid, files in _pids(path).items() if pid == exiting or not alive(pid)}
        if not gone:
            return []
        for typ in ADDED_UP:
            _fold(path, typ, [f for files in gone.values() for f in files
                              if os.path.basename(f).startswith(f"{typ}_")])
        _write_journal(path, gone)
        for pid in gone:
            multiprocess.mark_process_dead(pid, path)
        _finish_journal(path)
        return sorted(gone)


def _fold(path, typ, dead_files):
    """Write the archive of `typ` plus `dead_files`' values to `<archive>.tmp` (not read by
    scrapes until the journal commits it)."""
    from prometheus_client.mmap_dict import MmapedDict

    if not dead_files:
        return
    archive = os.path.join(path, f"{typ}_{ARCHIVE}.db")
    totals = {}
    for name in ([archive] if os.path.exists(archive) else []) + dead_files:
        for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(name):
            total, latest = totals.get(key, (0.0, 0.0))
            totals[key] = (total + value, max(latest, timestamp))
    tmp = archive + ".tmp"
    if os.path.exists(tmp):
        os.remove(tmp)
    merged = MmapedDict(tmp)
    try:
        for key, (value, timestamp) in totals.items():
            merged.write_value(key, value, timestamp)
    finally:
        merged.close()


def _write_journal(path, gone):
    journal = os.path.join(path, "compact.journal")
    with open(journal + ".tmp", "w") as out:
        json.dump(sorted(gone), out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(journal + ".tmp", journal)


def _finish_journal(path):
    """Complete a compaction the journal committed (the archives in, the dead files out), or
    drop one it did not; runs before each compaction, so a crash midway is repaired."""
    journal = os.path.join(path, "compact.journal")
    tmps = [os.path.join(path, f"{typ}_{ARCHIVE}.db.tmp") for typ in ADDED_UP]
    if not os.path.exists(journal):
        for tmp in tmps:
            if os.path.exists(tmp):
                os.remove(tmp)
        return
    with open(journal) as inp:
        gone = json.load(inp)
    for tmp in tmps:
        if os.path.exists(tmp):
            os.replace(tmp, tmp[:-len(".tmp")])
    for pid in gone:
        for name in glob.glob(os.path.join(path, f"*_{pid}.db")):
            os.remove(name)
    os.remove(journal)


class _LockedHandler(prometheus._metrics_handler):
    def do_GET(self):
        with _locked(prometheus.DB_PATH, fcntl.LOCK_SH):  # never halfway through a compaction
            super().do_GET()


class WorkerMetrics(prometheus.Prometheus):
    """dramatiq's middleware, serving through `serve` instead of its own server function, and
    folding this process's counters into the archive when it stops."""

    @property
    def forks(self):
        return [serve]

    def after_worker_shutdown(self, broker, worker):
        super().after_worker_shutdown(broker, worker)  # mark_process_dead(this pid)
        try:
            compact(prometheus.DB_PATH, exiting=os.getpid())
        except Exception:  # the next start folds them instead
            log.exception("could not fold this worker's metrics into the archive")


def serve():
    """Run in the process dramatiq's CLI forks: serve every worker process's metrics."""
    host, port = address()
    try:
        server = HTTPServer((host, port), _LockedHandler)
    except OSError as exc:
        log.warning("worker metrics not served on %s:%s (%s); another worker on this host serves "
                    "the same directory", host, port, exc)
        return 0
    server.serve_forever()
    return 0
