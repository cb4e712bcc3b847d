"""Headers built from what people typed (a business name in a subject, a display name) are one
clean line: a line break in a subject would make Flask-Mail refuse the email for good (a
BadHeaderError), or, through a laxer library, let a visitor add headers of their own."""
import re
import unicodedata

# Long enough for any real subject, short enough for every inbox's list (and the outbox's
# 255-character subject column): a 10,000-character business name ends in an ellipsis.
HEADER_MAX_CHARS = 150
_SPACES = re.compile(r"\s+")
# Control (incl. NUL, CR, LF, tab) and format characters (zero-width, bidirectional overrides):
# whitespace among them becomes a space, the rest goes.
_DROPPED = {"Cc", "Cf", "Cs"}


def one_line(text, limit=HEADER_MAX_CHARS):
    """`text` as one header line: whitespace runs become one space, control characters go, at
    most `limit` characters (an ellipsis marks a cut)."""
    text = str(text or "")
    if text.isascii() and text.isprintable():  # no control character, and no space but " "
        kept = text
    else:
        kept = "".join(" " if char.isspace() else char for char in text
                       if char.isspace() or unicodedata.category(char) not in _DROPPED)
    kept = _SPACES.sub(" ", kept).strip()
    if len(kept) > limit:
        kept = kept[:limit - 1].rstrip() + "…"
    return kept
