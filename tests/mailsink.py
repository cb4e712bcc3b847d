"""The SMTP sink the tests send real email to (the same handler `make run` uses)."""
import mailbox
import socket
import time

from workers.mailsink import read_maildir, start


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SinkServer:
    def __init__(self, path):
        self.path = path
        self.port = free_port()

    def __enter__(self):
        self.controller = start("127.0.0.1", self.port, self.path)
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def messages(self):
        """Every email received, oldest first."""
        return [message for _, message in reversed(read_maildir(self.path))]

    def to(self, address):
        return [m for m in self.messages() if address in m["To"]]

    def clear(self):
        mailbox.Maildir(str(self.path), create=True).clear()

    def wait_for(self, count=1, timeout=20.0, address=None):
        """Wait until at least `count` emails (to `address`, if given) arrived; return them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address) if address else self.messages()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def text_of(message):
    return message.get_body(preferencelist=("plain",)).get_content()
