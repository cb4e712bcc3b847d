import re

from flask import abort, current_app, render_template
from markupsafe import Markup, escape

from blueprints.devmail import bp
from workers.mailsink import read_maildir

_URL = re.compile(r"https?://[^\s<>\"']+")


def linkify(text):
    """Escaped text with every URL made a link, so emailed links can be clicked through."""
    parts, last = [], 0
    for match in _URL.finditer(text):
        parts += [escape(text[last:match.start()]), Markup('<a href="{0}">{0}</a>').format(match.group())]
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def _mailbox():
    return read_maildir(current_app.config["DEVMAIL_DIR"])


@bp.get("/")
def inbox():
    return render_template("devmail/inbox.html", messages=_mailbox())


@bp.get("/<key>")
def message(key):
    found = next((msg for k, msg in _mailbox() if k == key), None)
    if found is None:
        abort(404)
    text = found.get_body(preferencelist=("plain",))
    html = found.get_body(preferencelist=("html",))
    return render_template("devmail/message.html", key=key, msg=found,
                           text=linkify(text.get_content()) if text else "",
                           html=html.get_content() if html else None)
