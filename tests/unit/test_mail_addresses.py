"""The mail worker's shortcuts for plain addresses and ASCII subjects give exactly what the long
way (Flask-Mail's sanitize_address, smtplib's quoting, the per-character header clean-up) gives."""
import smtplib
import unicodedata

import pytest
from flask_mail import sanitize_address

from komet.mail import smtp
from komet.mail.headers import _DROPPED, _SPACES, one_line

ADDRESSES = [
    "buyer@example.com", "Buyer.Name+tag@sub.example.co.uk", "a-b_c@x-y.example", "UPPER@EXAMPLE.COM",
    "mail1765-42@bench.example", "Ann <ann@example.com>", '"odd name"@example.com', "a..b@example.com",
    "a@b@example.com", "user@localhost", "trailing@example.com.", "ünïcode@example.com", "user@bücher.example",
    "sp ace@example.com", "", "<bracketed@example.com>", ("Ann", "ann@example.com"),
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_an_address_is_sanitized_as_flask_mail_does_it(address):
    assert _outcome(smtp._address, address) == _outcome(sanitize_address, address)


def _outcome(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # an address it cannot take: the same error either way
        return type(exc)


class Recording:
    """An SMTP client that records the commands it would send, with the server's extensions."""

    def __init__(self):
        super().__init__()  # no host: nothing is opened
        self.does_esmtp, self.esmtp_features, self.sent = True, {"size": ""}, []

    def putcmd(self, cmd, args=""):
        self.sent.append(f"{cmd} {args}")

    def getreply(self):
        return 250, b"ok"


class Shortcut(Recording, smtp._SMTP):
    pass


class Plain(Recording, smtplib.SMTP):
    pass


@pytest.mark.parametrize("address", [a for a in ADDRESSES if isinstance(a, str) and a.isascii()]
                         + ["Komet <no-reply@komet.example>"])
@pytest.mark.parametrize("options", [(), ("size=1234",)])
def test_mail_and_rcpt_commands_are_the_ones_smtplib_sends(address, options):
    ours, theirs = Shortcut(), Plain()
    for client in (ours, theirs):
        client.mail(address, options)
        client.rcpt(address, options)
    assert ours.sent == theirs.sent


def _one_line_the_long_way(text, limit=150):
    kept = "".join(" " if char.isspace() else char for char in str(text or "")
                   if char.isspace() or unicodedata.category(char) not in _DROPPED)
    kept = _SPACES.sub(" ", kept).strip()
    return kept[:limit - 1].rstrip() + "…" if len(kept) > limit else kept


@pytest.mark.parametrize("text", [
    "Acme Wholesale invites you to buy online with Komet", "  two  spaces ", "tab\there", "line\r\nbreak",
    "nul\x00byte", "bell\x07", "zero\u200bwidth", "bidi\u202eoverride", "Café Crème", "x" * 200, "", None,
])
def test_a_subject_is_made_one_line_as_the_long_way_does(text):
    assert one_line(text) == _one_line_the_long_way(text)
