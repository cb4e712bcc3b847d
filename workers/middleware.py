"""Worker middleware: an app context per message, as a request gets one; the heartbeat."""
import logging
import signal
import threading
import time

from dramatiq import Middleware

from komet.ops import heartbeats

log = logging.getLogger("komet.worker")


class AppContextMiddleware(Middleware):
    def __init__(self, app):
        self.app = app
        self._local = threading.local()

    def before_process_message(self, broker, message):
        context = self.app.app_context()
        context.push()
        self._local.context = context

    def after_process_message(self, broker, message, *, result=None, exception=None):
        context = getattr(self._local, "context", None)
        if context is not None:
            self._local.context = None
            context.pop()

    def after_skip_message(self, broker, message):
        self.after_process_message(broker, message)


class HeartbeatMiddleware(Middleware):
    """Beats for this worker process every WORKER_HEARTBEAT_SECONDS while it is working.

    A thread of its own beats, so an idle worker (nothing queued) still shows alive; it skips
    the beat while any message has been in hand longer than WORKER_STUCK_AFTER_SECONDS, so a
    worker thread wedged in a send shows as stuck although the process is up. At boot it
    takes over from dead workers of this host; once shut down cleanly it deletes its row.
    """

    def __init__(self, app):
        self.app = app
        self._started = {}  # message id -> monotonic time its processing began
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._processed = 0

    def before_process_message(self, broker, message):
        with self._lock:
            self._started[message.message_id] = time.monotonic()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        with self._lock:
            self._started.pop(message.message_id, None)
            self._processed += 1

    def after_skip_message(self, broker, message):
        self.after_process_message(broker, message)

    def after_worker_boot(self, broker, worker):
        self._stop.clear()
        try:
            with self.app.app_context():
                heartbeats.replace_dead(heartbeats.WORKER)
        except Exception:  # the database is away: the dead rows stay until the next start
            log.exception("could not clear the heartbeats of dead workers")
        self._thread = threading.Thread(target=self._run, name="komet-heartbeat", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker, worker):
        self._stop.set()

    def after_worker_shutdown(self, broker, worker):
        # After the worker threads finished: a shutdown that hangs on a wedged send still shows
        # as stuck, and a clean one (a deploy) leaves no row behind to look stuck.
        self._forget()

    def _forget(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            with self.app.app_context():
                heartbeats.forget(heartbeats.WORKER)
        except Exception:
            log.exception("could not delete this worker's heartbeat")

    def forget_when_terminated(self):
        """Delete this process's row when a second SIGTERM ends it without the worker's shutdown.

        Process managers that signal the whole process group (honcho, systemd, Heroku) send
        SIGTERM twice, once themselves and once through dramatiq's main process, and at the
        second dramatiq's handler exits at once (no atexit either, in a multiprocessing
        child): without this a deploy would leave a row behind to go stale.
        """
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):  # not under dramatiq's CLI: leave the default behaviour alone
            return
        signalled = threading.Event()

        def on_sigterm(signum, frame):
            if signalled.is_set():
                self._forget()
            signalled.set()
            previous(signum, frame)

        signal.signal(signal.SIGTERM, on_sigterm)

    def oldest_in_hand(self):
        """Seconds the longest-running message has been in hand (0 when idle)."""
        with self._lock:
            started = min(self._started.values(), default=None)
        return 0.0 if started is None else time.monotonic() - started

    def beat_once(self):
        """Beat unless a message is stuck; True when it beat."""
        oldest = self.oldest_in_hand()
        if oldest > self.app.config["WORKER_STUCK_AFTER_SECONDS"]:
            log.warning("no heartbeat: a message has been in hand for %.0fs", oldest)
            return False
        with self.app.app_context():
            with self._lock:
                in_hand, processed = len(self._started), self._processed
            heartbeats.beat(heartbeats.WORKER, f"{in_hand} in hand, {processed} processed")
        return True

    def _run(self):
        interval = self.app.config["WORKER_HEARTBEAT_SECONDS"]
        while not self._stop.is_set():
            try:
                self.beat_once()
            except Exception:  # the database is away: no beat is the right signal, keep trying
                log.exception("heartbeat failed")
            self._stop.wait(interval)
