"""SMTP conversations with a socket timeout, and what a failed send means.

Flask-Mail 0.10 opens `smtplib.SMTP(server, port)` with no timeout, so a server that accepts
the connection and never answers blocks the worker thread in a read for good (an actor's
time limit cannot interrupt a blocking read). Here every socket operation of the
conversation (connect, greeting, each command) gives up after `MAIL_TIMEOUT` seconds and
raises, which the outbox treats as any other failed attempt.
"""
import base64
import binascii
import functools
import re
import smtplib
import time
import uuid
from email.utils import formatdate

from flask import current_app
from flask_mail import BadHeaderError, Connection, sanitize_address

# How a failed send ends (see `failure`).
PERMANENT = "permanent"      # this email can never be sent: failed at once, with the reason
REFUSED = "refused"          # the server refused this email for now (4xx): retried after a backoff
UNREACHABLE = "unreachable"  # no working conversation with the server: SMTP is down, silent or refusing


class BadAddress(ValueError):
    """A recipient that is no email address: no server could ever take it."""


# An address that parses to itself: ASCII, dot-separated atoms, no display name, nothing to
# quote. Flask-Mail's sanitize_address returns it unchanged and smtplib quotes it as <address>,
# each after a full RFC 2822 parse (email.utils.parseaddr: three per email, about a tenth of
# the worker's CPU per email); for such an address both are skipped. Any other goes the long
# way, once per address (the sender, "Komet <no-reply@…>", is always the same).
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


class _PlainAddressesQuoted:
    """smtplib's MAIL and RCPT commands, word for word, without parsing an address again."""

    def mail(self, sender, options=()):
        if any(option.lower() == "smtputf8" for option in options):
            return super().mail(sender, options)
        self.putcmd("mail", f"FROM:{_quoted(sender)}{_option_list(self, options)}")
        return self.getreply()

    def rcpt(self, recip, options=()):
        self.putcmd("rcpt", f"TO:{_quoted(recip)}{_option_list(self, options)}")
        return self.getreply()


def _quoted(address):
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else _quoted_the_long_way(address)


_quoted_the_long_way = functools.lru_cache(maxsize=1024)(smtplib.quoteaddr)


def _option_list(host, options):
    return " " + " ".join(options) if options and host.does_esmtp else ""


class _SMTP(_PlainAddressesQuoted, smtplib.SMTP):
    pass


class _SMTP_SSL(_PlainAddressesQuoted, smtplib.SMTP_SSL):
    pass


class TimedConnection(Connection):
    """Flask-Mail's connection, with `MAIL_TIMEOUT` on the socket."""

    def configure_host(self):
        timeout = current_app.config["MAIL_TIMEOUT"]
        smtp = _SMTP_SSL if self.mail.use_ssl else _SMTP
        host = smtp(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def send_on(host, message):
    """Send `message` on an open `smtplib` connection (None: suppressed); returns once the
    server answered 250 to its data, or raises."""
    if message.has_bad_headers():
        raise BadHeaderError
    if message.date is None:
        message.date = time.time()
    recipients = [_address(address) for address in message.send_to]
    if not all(recipients):  # Flask-Mail reads "a@b@example.com" as no address at all
        raise BadAddress(f"not an email address: {', '.join(map(str, message.send_to))}")
    if host is not None:
        sender, data = _address(message.sender), as_bytes(message)
        if _can_pipeline(host, sender, recipients):
            _pipelined(host, sender, recipients, data)
        else:
            host.sendmail(sender, recipients, data)


_LEADING_DOT = re.compile(rb"(?m)^\.")  # a line that starts with a dot gets another (RFC 5321 4.5.2)


def _can_pipeline(host, sender, recipients):
    """The server offers PIPELINING and every address is plain ASCII (an address that needs
    SMTPUTF8 goes through sendmail(), which checks the server offers that)."""
    host.ehlo_or_helo_if_needed()
    return host.has_extn("pipelining") and all(_quoted(a).isascii() for a in (sender, *recipients))


def _pipelined(host, sender, recipients, data):
    """smtplib's sendmail() in two round trips instead of 3 + recipients (RFC 2920, for a server
    that offers PIPELINING): MAIL, each RCPT and DATA in one write, their replies read in order,
    then the data. The same replies raise the same exceptions as sendmail(), so a failure is
    sorted the same way (`failure`); any failure closes the connection (komet/mail/pool.py)."""
    size = f" SIZE={len(data)}" if host.has_extn("size") else ""
    commands = [f"MAIL FROM:{_quoted(sender)}{size}", *(f"RCPT TO:{_quoted(r)}" for r in recipients), "DATA", ""]
    host.send("\r\n".join(commands))
    mail = host.getreply()
    refused = {r: reply for r in recipients if (reply := host.getreply())[0] not in (250, 251)}
    code, reply = host.getreply()
    failed = (smtplib.SMTPSenderRefused(*mail, sender) if mail[0] != 250
              else smtplib.SMTPRecipientsRefused(refused) if len(refused) == len(recipients)  # as sendmail()
              else smtplib.SMTPDataError(code, reply) if code != 354 else None)
    if failed is not None:
        # A server that said go ahead to no envelope would deliver whatever ends the data: the
        # connection is dropped instead, so nothing arrives.
        _out_of_step(host, close=code == 354 or 421 in (mail[0], code, *(c for c, _ in refused.values())))
        raise failed
    body = _LEADING_DOT.sub(b"..", data) if b"\n." in data else data  # the first line is a header
    host.send(body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"))
    code, reply = host.getreply()
    if code != 250:
        _out_of_step(host, close=code == 421)
        raise smtplib.SMTPDataError(code, reply)


def _out_of_step(host, close):
    """After a refusal, as sendmail() does: RSET, so the next email starts a clean envelope; or
    close the connection (the server is ending it, 421, or waits for data that is not coming)."""
    if close:
        host.close()
        return
    try:
        host.rset()
    except smtplib.SMTPServerDisconnected:
        pass


def _address(address):
    if isinstance(address, str) and _PLAIN_ADDRESS.fullmatch(address):
        return address  # what sanitize_address returns for it
    return _sanitized(address)


@functools.lru_cache(maxsize=1024)
def _sanitized(address):
    # Flask-Mail's parsing and encoding of an address is slow, and the sender is always the same.
    return sanitize_address(address)


def as_bytes(message):
    """The email's bytes: multipart/alternative, text and HTML in base64 UTF-8.

    Written here rather than by Flask-Mail's `as_bytes`, which took milliseconds per email in
    the standard library's policy-based generator (more than the SMTP conversation) and folded
    a long encoded subject wrongly ("… invites you t o buy …").
    """
    boundary = f"=_komet_{uuid.uuid4().hex}"
    head = "\r\n".join([
        f"From: {_address(message.sender)}",
        f"To: {', '.join(map(_address, message.recipients))}",
        _subject_header(message.subject or ""),
        f"Date: {formatdate(message.date, localtime=True)}",
        f"Message-ID: {message.msgId}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        "",
    ])
    parts = [head.encode("utf-8")]
    for subtype, content in (("plain", message.body), ("html", message.html)):
        if content is not None:
            parts += [f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
                      f"Content-Transfer-Encoding: base64\r\n\r\n".encode("ascii"),
                      _base64_lines(content.encode("utf-8")), b"\r\n"]
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts)


def _base64_lines(data):
    """base64.encodebytes(data) with CRLF line ends, in one call: encodebytes encodes 57 bytes
    at a time in a Python loop (a third of the time spent writing an email)."""
    encoded = binascii.b2a_base64(data, newline=False)
    return b"\r\n".join([encoded[at:at + 76] for at in range(0, len(encoded), 76)])


def _subject_header(subject):
    """`Subject: …` folded at 78 characters; RFC 2047 base64 words when it is not ASCII."""
    if subject.isascii():
        words, folded = subject.split(" "), ["Subject:"]
        for word in words:
            if len(folded[-1]) + 1 + len(word) > 78 and folded[-1].strip() != "Subject:":
                folded.append("")
            folded[-1] += " " + word
        return "\r\n".join(folded)
    chunks, current = [], ""
    for char in subject:  # at most 45 bytes a word: 60 base64 characters, never a split character
        if len((current + char).encode("utf-8")) > 45:
            chunks.append(current)
            current = ""
        current += char
    chunks.append(current)
    words = [f"=?utf-8?b?{base64.b64encode(chunk.encode('utf-8')).decode('ascii')}?=" for chunk in chunks]
    return "Subject: " + "\r\n ".join(words)


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
