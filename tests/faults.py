"""Real network faults for tests: an SMTP port that accepts and never answers, and can be
switched to pass connections through to the real SMTP sink (the outage ends)."""
import socket
import threading
import time

from tests.mailsink import free_port


class SMTPGate:
    """Listens on its own port. `silent`: accept, then say nothing, ever (a wedged server).
    `open`: each new connection is piped to `target_port`."""

    def __init__(self, target_port=None):
        self.target_port = target_port
        self.silent = True
        self.accepted = 0
        self._held = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def open(self):
        self.silent = False

    def _accept(self):
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            if self.silent:
                self._held.append(client)  # keep it open, answer nothing
            else:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self._stop.set()
        self._server.close()
        for client in self._held:
            client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def closed_port():
    """A port on which nothing listens (connection refused): a free one, not listened on."""
    return free_port()


def wait_until(condition, timeout=90):
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def outbox_rows(app):
    """Every outbox row, oldest first, detached from the session."""
    from sqlalchemy import select

    from komet.extensions import db
    from komet.models import Email

    with app.app_context():
        rows = db.session.scalars(select(Email).order_by(Email.id)).all()
        db.session.expunge_all()
        return rows
