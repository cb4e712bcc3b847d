"""The product's real processes for browser and end-to-end tests.

gunicorn serves `wsgi:app` and a `dramatiq workers.worker` process sends email, both on
the test database, a real Redis broker and the tests' SMTP sink, configured only through
environment variables, as in production.
"""
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.mailsink import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _redis_answers(url):
    import redis

    try:
        return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
    except Exception:
        return False


class Stack:
    def __init__(self, database_url, smtp_port, maildir, workdir, **env):
        self.workdir = Path(workdir)
        self.processes = {}
        self.redis = None
        redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        if not _redis_answers(redis_url):
            redis_url = self._start_embedded_redis()
        self.redis_url = redis_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Metrics ports and files of its own: two stacks (or a stack and `make run`) on one
        # machine never serve, or add up, each other's worker and scheduler metrics.
        self.worker_metrics_url = f"http://127.0.0.1:{free_port()}"
        self.scheduler_metrics_url = f"http://127.0.0.1:{free_port()}"
        # Its own namespace in the shared Redis, for the broker's queues and the rate limiter's
        # counters: a stack never takes another stack's messages, and never starts with another
        # run's requests already counted against 127.0.0.1 (an hour-long Register Here limit
        # once refused a later run's visitor).
        self.namespace = f"komet-test-{os.getpid()}-{secrets.token_hex(4)}"
        self.env = {
            **os.environ,
            "KOMET_CONFIG": "development",
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "BROKER_URL": redis_url,
            "BROKER_NAMESPACE": self.namespace,
            "RATELIMIT_KEY_PREFIX": self.namespace,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "DEVMAIL_DIR": str(maildir),
            "BASE_URL": self.url,
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "PYTHONUNBUFFERED": "1",
            "WORKER_METRICS_PORT": self.worker_metrics_url.rsplit(":", 1)[1],
            "SCHEDULER_METRICS_PORT": self.scheduler_metrics_url.rsplit(":", 1)[1],
            "dramatiq_prom_db": str(self.workdir / "worker-metrics"),
            **env,
        }

    def _start_embedded_redis(self):
        port = free_port()
        server = BIN / "redis-server"
        self.redis = subprocess.Popen([str(server), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._wait_port(port, "redis-server")
        return f"redis://127.0.0.1:{port}/0"

    def _spawn(self, name, command):
        log = open(self.workdir / f"{name}.log", "ab")
        # A session of its own, so stopping it stops the children it forks too.
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def __enter__(self):
        """The whole product: web, one worker and one scheduler; stopped on leaving."""
        try:
            self.start_web()
            self.start_worker()
            self.start_scheduler()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    @classmethod
    def web_and_worker(cls, app, smtp_sink, workdir):
        """A fixture's body: web and one worker on `app`'s database and the SMTP sink, stopped
        when the fixture ends (no scheduler: tests that want one start it)."""
        running = cls(app.config["SQLALCHEMY_DATABASE_URI"], smtp_sink.port, smtp_sink.path, workdir)
        try:
            running.start_web()
            running.start_worker()
            yield running
        finally:
            running.stop()

    def start_web(self, *options):
        """gunicorn with one worker of 4 threads unless `options` (gunicorn's) say otherwise."""
        self._spawn("web", [str(BIN / "gunicorn"), "--no-control-socket", "--bind", f"127.0.0.1:{self.port}",
                            *(options or ("--workers", "1", "--threads", "4")), "wsgi:app"])
        self._wait_http("/login")

    def start_worker(self, threads=1):
        self._spawn("worker", [str(BIN / "dramatiq"), "workers.worker", "--processes", "1", "--threads", str(threads)])
        self.wait_worker_ready()

    def start_scheduler(self, name="scheduler"):
        self._spawn(name, [sys.executable, "-m", "workers.scheduler"])

    def wait_worker_ready(self, timeout=30, name="worker"):
        deadline = time.monotonic() + timeout
        log = self.workdir / f"{name}.log"
        while time.monotonic() < deadline:
            if log.exists() and b"Worker process is ready for action" in log.read_bytes()[-20000:]:
                return
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"the worker exited:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"the worker did not start:\n{log.read_text()[-3000:]}")

    def kill(self, name, sig=signal.SIGKILL):
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def stop(self):
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)
        if self.redis:
            self.redis.terminate()
            self.redis.wait(timeout=10)

    def log(self, name):
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    @staticmethod
    def _wait_port(port, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{what} did not listen on {port}")

    def _wait_http(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"web did not answer at {self.url}{path}:\n{self.log('web')[-3000:]}")

