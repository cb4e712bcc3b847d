"""A small SMTP sink for development and tests: stores every email it receives in a Maildir.

`python -m workers.mailsink --port 8025 --maildir instance/devmail`; the dev mailbox page
(blueprints/devmail) reads the same folder.

It stores each email on its event loop before it answers 250: a Maildir write
(a file created, written, closed and renamed, no fsync) takes microseconds. A thread pool for
the writes, tried to keep one connection's write from holding up the others, cost the sink
0.7 ms more CPU per email with eight senders (2.0 against 1.3 ms: the pool's threads and the
loop contend for one GIL) and nothing with one. It offers PIPELINING, as real servers do.
"""
import argparse
import logging
import mailbox
import signal
import threading
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

log = logging.getLogger("komet.mailsink")


class MaildirHandler:
    def __init__(self, path):
        self.path = str(path)
        mailbox.Maildir(self.path, create=True)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # PIPELINING, as Postfix, Exim and the big relays offer it: a client may send the
        # envelope in one write (komet/mail/smtp.py). aiosmtpd reads commands in order however
        # they arrive; it only does not say so.
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server, session, envelope):
        # What the SMTP envelope said, which headers alone may not (Bcc), on top of the bytes as
        # they came: parsing and writing the email again folded long encoded subjects wrongly
        # ("t o buy"), so the mailbox showed what no client would.
        envelope_to = ", ".join(envelope.rcpt_tos).encode("utf-8", "replace")
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        stored = b"X-Envelope-To: " + envelope_to + b"\r\n" + raw
        self._store(stored)
        log.info("stored email to %s", envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def _store(self, data):
        # Opened per email (cheap): a test or the dev page may have cleared the folder meanwhile.
        mailbox.Maildir(self.path, create=True).add(data)


def read_maildir(path):
    """Every stored email, newest delivery first, as (key, email.message.EmailMessage)."""
    box = mailbox.Maildir(str(path), create=True)
    stored = sorted(box.iteritems(), key=lambda item: item[1].get_date(), reverse=True)
    return [(key, message_from_bytes(box.get_bytes(key), policy=policy.default)) for key, _ in stored]


def start(host, port, maildir):
    controller = Controller(MaildirHandler(maildir), hostname=host, port=port)
    controller.start()
    return controller


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", default="instance/devmail")
    parser.add_argument("--log-level", default="INFO", help="WARNING: no line per email (the bench)")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection
    controller = start(args.host, args.port, args.maildir)
    log.info("SMTP sink on %s:%s storing in %s", args.host, args.port, args.maildir)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
