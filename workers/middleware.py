"""Worker middleware: an app context per message, as a request gets one; the heartbeat."""
import logging
import signal
import threading
import time

from dramatiq import Middleware
from sqlalchemy import event
from sqlalchemy.orm import Session

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

    A thread of its own beats, apart from the threads that process messages: an idle worker
    (nothing queued) and a busy one (a long CSV import) beat on, and a process that is wedged
    as a whole (SIGSTOPped, or frozen) or gone stops at once. A worker thread counts as wedged
    when the message in its hand has made no progress (no database commit by that thread, no
    email marked sent) for WORKER_STUCK_AFTER_SECONDS, say a send blocked on a silent SMTP
    server: then the beat stops too, although the process is up. An import commits after every
    batch of rows, so it makes progress however long it runs. At boot it takes over from dead
    workers of this host; once shut down cleanly it deletes its row.
    """

    def __init__(self, app):
        self.app = app
        self._in_hand = {}  # message id -> [thread id, monotonic start, monotonic last progress]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._processed = 0

    def before_process_message(self, broker, message):
        now = time.monotonic()
        with self._lock:
            self._in_hand[message.message_id] = [threading.get_ident(), now, now]

    def after_process_message(self, broker, message, *, result=None, exception=None):
        with self._lock:
            self._in_hand.pop(message.message_id, None)
            self._processed += 1

    def after_skip_message(self, broker, message):
        self.after_process_message(broker, message)

    def progressed(self, *args):
        """A database commit by a thread, or an email it marked sent: progress on the message that
        thread holds (if any)."""
        thread = threading.get_ident()
        with self._lock:
            for entry in self._in_hand.values():
                if entry[0] == thread:
                    entry[2] = time.monotonic()

    def after_worker_boot(self, broker, worker):
        self._stop.clear()
        try:
            with self.app.app_context():
                heartbeats.replace_dead(heartbeats.WORKER)
        except Exception:  # the database is away: the dead rows stay until the next start
            log.exception("could not clear the heartbeats of dead workers")
        event.listen(Session, "after_commit", self.progressed)
        heartbeats.progress.connect(self.progressed)
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
        if event.contains(Session, "after_commit", self.progressed):
            event.remove(Session, "after_commit", self.progressed)
        heartbeats.progress.disconnect(self.progressed)
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

    def longest_without_progress(self):
        """Seconds the message in hand longest without progress has waited (0 when idle)."""
        with self._lock:
            last = min((entry[2] for entry in self._in_hand.values()), default=None)
        return 0.0 if last is None else time.monotonic() - last

    def beat_once(self):
        """Beat unless a worker thread is wedged on its message; True when it beat."""
        waited = self.longest_without_progress()
        if waited > self.app.config["WORKER_STUCK_AFTER_SECONDS"]:
            log.warning("no heartbeat: a message has made no progress for %.0fs", waited)
            return False
        with self.app.app_context():
            with self._lock:
                in_hand, processed = len(self._in_hand), self._processed
            detail = f"{in_hand} in hand, {processed} processed"
            if in_hand:
                detail += f" (last progress {waited:.0f} s ago)"
            heartbeats.beat(heartbeats.WORKER, detail)
        return True

    def _run(self):
        interval = self.app.config["WORKER_HEARTBEAT_SECONDS"]
        while not self._stop.is_set():
            try:
                self.beat_once()
            except Exception:  # the database is away: no beat is the right signal, keep trying
                log.exception("heartbeat failed")
            self._stop.wait(interval)
