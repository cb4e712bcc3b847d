"""A small SMTP sink for development and tests: stores every email it receives in a Maildir.

`python -m workers.mailsink --port 8025 --maildir instance/devmail`; the dev mailbox page
(blueprints/devmail) reads the same folder.
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

    async def handle_DATA(self, server, session, envelope):
        # What the SMTP envelope said, which headers alone may not (Bcc), on top of the bytes as
        # they came: parsing and writing the email again folded long encoded subjects wrongly
        # ("t o buy"), so the mailbox showed what no client would.
        envelope_to = ", ".join(envelope.rcpt_tos).encode("utf-8", "replace")
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        mailbox.Maildir(self.path, create=True).add(b"X-Envelope-To: " + envelope_to + b"\r\n" + raw)
        log.info("stored email to %s", envelope.rcpt_tos)
        return "250 Message accepted for delivery"


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
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
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
