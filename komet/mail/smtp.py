"""One SMTP conversation with a socket timeout.

Flask-Mail 0.10 opens `smtplib.SMTP(server, port)` with no timeout, so a server that accepts
the connection and never answers blocks the worker thread in a read for good (an actor's
time limit cannot interrupt a blocking read). Here every socket operation of the
conversation (connect, greeting, each command) gives up after `MAIL_TIMEOUT` seconds and
raises, which the outbox treats as any other failed attempt.
"""
import smtplib

from flask import current_app
from flask_mail import Connection


class TimedConnection(Connection):
    """Flask-Mail's connection, with `MAIL_TIMEOUT` on the socket."""

    def configure_host(self):
        timeout = current_app.config["MAIL_TIMEOUT"]
        smtp = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host

    def __exit__(self, exc_type, exc_value, tb):
        if self.host is None:
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            # The server already accepted the email (or the send failed and that error is
            # the one that matters): a slow goodbye must not turn a sent email into a retry.
            self.host.close()


def send(message):
    """Send one Flask-Mail message over a fresh connection (suppressed in tests that ask)."""
    with TimedConnection(current_app.extensions["mail"]) as connection:
        message.send(connection)
