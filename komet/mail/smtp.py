"""One SMTP conversation with a socket timeout.

Flask-Mail 0.10 opens `smtplib.SMTP(server, port)` with no timeout, so a server that accepts
the connection and never answers blocks the worker thread in a read for good (an actor's
time limit cannot interrupt a blocking read). Here every socket operation of the
conversation (connect, greeting, each command) gives up after `MAIL_TIMEOUT` seconds and
raises, which the outbox treats as any other failed attempt.
"""
import smtplib
import time
from contextlib import contextmanager

from flask import current_app
from flask_mail import BadHeaderError, Connection, sanitize_address, sanitize_addresses

# How a failed send ends (see `failure`).
PERMANENT = "permanent"      # this email can never be sent: failed at once, with the reason
REFUSED = "refused"          # the server refused this email for now (4xx): retried after a backoff
UNREACHABLE = "unreachable"  # no working conversation with the server: SMTP is down, silent or refusing


class BadAddress(ValueError):
    """A recipient that is no email address: no server could ever take it."""


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


@contextmanager
def connection():
    """An open SMTP connection for the block (None when sending is suppressed); QUIT after it."""
    with TimedConnection(current_app.extensions["mail"]) as opened:
        yield opened.host


def send_on(host, message):
    """Send `message` on an open `smtplib` connection (None: suppressed); returns once the
    server answered 250 to its data, or raises."""
    if message.has_bad_headers():
        raise BadHeaderError
    if message.date is None:
        message.date = time.time()
    recipients = sanitize_addresses(message.send_to)
    if not all(recipients):  # Flask-Mail reads "a@b@example.com" as no address at all
        raise BadAddress(f"not an email address: {', '.join(map(str, message.send_to))}")
    if host is not None:
        host.sendmail(sanitize_address(message.sender), recipients, as_bytes(message))


def as_bytes(message):
    """The email's bytes, its subject folded by the standard library's SMTP policy.

    Flask-Mail encodes a non-ASCII subject itself and then lets that policy fold the encoded
    text again: a long subject reached inboxes as "… invites you t o buy …". Setting the
    plain subject on the message it built lets the policy encode and fold it once, rightly.
    """
    built = message._message()  # Flask-Mail's MIME tree; only its Subject is replaced
    if message.subject:
        del built["Subject"]
        built["Subject"] = message.subject
    return built.as_bytes()


def failure(exc):
    """PERMANENT, REFUSED or UNREACHABLE for an exception a send raised.

    Permanent: a header Flask-Mail refuses, an address no server can take (a 5xx to every
    recipient, an address that needs SMTPUTF8 from a server without it), a 5xx to the message
    itself. A 4xx to this email is a temporary refusal. Anything else (no connection, a
    timeout, a disconnect, 421, a refused login or sender, which are the server's set-up and
    not this email's) means the server is not taking email: retried, and the operator is told.
    """
    if isinstance(exc, (BadHeaderError, BadAddress, UnicodeError, smtplib.SMTPNotSupportedError)):
        return PERMANENT
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if 421 in codes:
            return UNREACHABLE
        return PERMANENT if codes and all(500 <= code < 600 for code in codes) else REFUSED
    if isinstance(exc, smtplib.SMTPResponseException) and not isinstance(
            exc, (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError, smtplib.SMTPHeloError)):
        if exc.smtp_code == 421:
            return UNREACHABLE
        if 500 <= exc.smtp_code < 600:
            return PERMANENT
        if 400 <= exc.smtp_code < 500:
            return REFUSED
    return UNREACHABLE


def describe(exc):
    """The reason an admin reads on the email's page."""
    if isinstance(exc, BadHeaderError):
        return "BadHeaderError: a header (the subject or an address) has a line break"
    if isinstance(exc, UnicodeError):
        return f"{type(exc).__name__}: the address needs SMTPUTF8, which the mail server does not offer ({exc})"
    return f"{type(exc).__name__}: {exc}"
