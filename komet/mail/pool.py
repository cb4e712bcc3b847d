"""One SMTP connection per worker thread, kept open between emails.

Opening a conversation (connect, greeting, EHLO, maybe STARTTLS and a login) costs several
round trips, more than sending one email on it; a thread that sends many emails in a row
keeps its connection. A connection that fails is closed (the next email opens a fresh one);
one the server closed while it sat idle is reopened once, at once, for the email that found
it closed; one idle for `MAIL_IDLE_SECONDS` is closed by a small daemon thread, so a quiet
worker holds no connection the server would time out.
"""
import smtplib
import threading
import time

from flask import current_app

from komet.mail.smtp import TimedConnection, send_on

_local = threading.local()
_every = []  # every thread's _Held, for the idle closer
_every_lock = threading.Lock()
_closer = None


class _Held:
    def __init__(self):
        self.host = None
        self.server = None  # (host, port) it was opened to: tests point the app elsewhere
        self.used = time.monotonic()
        self.lock = threading.Lock()

    def close(self):
        host, self.host = self.host, None
        if host is not None:
            try:
                host.quit()
            except (smtplib.SMTPException, OSError):
                host.close()


def _held():
    held = getattr(_local, "held", None)
    if held is None:
        held = _local.held = _Held()
        with _every_lock:
            _every.append(held)
    return held


def send(message):
    """Send `message` on this thread's connection (opened if needed); returns once the server
    answered 250 to it, or raises (and the connection is closed)."""
    mail = current_app.extensions["mail"]
    if mail.suppress:
        return send_on(None, message)
    held = _held()
    with held.lock:
        reused = held.host is not None and held.server == (mail.server, mail.port)
        if not reused:
            held.close()
            held.host, held.server = TimedConnection(mail).configure_host(), (mail.server, mail.port)
            _start_closer(current_app.config["MAIL_IDLE_SECONDS"])
        try:
            try:
                send_on(held.host, message)
            except smtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # Almost always the server closing a connection that sat idle, found at our
                # first command: a fresh connection sends the email. (Were it dropped after
                # the data, the email may arrive twice: at-least-once, same Message-ID.)
                held.close()
                held.host = TimedConnection(mail).configure_host()
                send_on(held.host, message)
        except BaseException:
            held.close()
            raise
        finally:
            held.used = time.monotonic()


def close_idle(idle_seconds, now=None):
    """Close every connection unused for `idle_seconds` (one in use is left alone)."""
    now = time.monotonic() if now is None else now
    with _every_lock:
        every = list(_every)
    for held in every:
        if held.host is not None and now - held.used >= idle_seconds and held.lock.acquire(blocking=False):
            try:
                held.close()
            finally:
                held.lock.release()


def _start_closer(idle_seconds):
    global _closer
    with _every_lock:
        if _closer is not None:
            return
        _closer = threading.Thread(target=_close_idle_forever, args=(idle_seconds,), name="komet-smtp-idle",
                                   daemon=True)
        _closer.start()


def _close_idle_forever(idle_seconds):
    while True:
        time.sleep(max(0.5, idle_seconds / 2))
        close_idle(idle_seconds)
