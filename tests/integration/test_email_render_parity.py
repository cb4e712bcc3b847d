"""The worker renders each email's parts straight from Flask's Jinja environment, without
render_template's context processors and signals: every email template renders to the same
text both ways, escaping included, in a worker's app context and in a request's."""
from pathlib import Path

import pytest
from flask import render_template

from komet.mail import kinds

TEMPLATES = sorted(p.name for p in (Path(__file__).parents[2] / "templates" / "emails").iterdir()
                   if not p.name.startswith("_"))
TRICKY = '<b>"Ann & Co"</b> \'x\''


def _context():
    person = {"name": TRICKY, "email": "ann@example.com"}
    request = {"contact_name": TRICKY, "business_name": TRICKY, "phone": "+1 <555>", "message": TRICKY,
               "email": "ann@example.com", "country": "US", "city": "Boston & Co"}
    return {"user": person, "account": person, "seller": TRICKY, "username": "ann&co", "url": "https://x/?a=1&b=2",
            "valid_days": 7, "valid_minutes": 60, "reset_url": "https://x/r?t=<t>", "forgot_url": "https://x/f",
            "request": request, "reason": TRICKY, "what": TRICKY, "subject": TRICKY}


def test_every_email_template_is_covered():
    assert len(TEMPLATES) >= 16 and {"activation.html", "activation.txt"} <= set(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_an_email_part_renders_as_render_template_does(app, name):
    with app.app_context():
        mine = kinds._render(f"emails/{name}", _context())
        assert mine == render_template(f"emails/{name}", **_context())
    with app.test_request_context("/"):
        assert kinds._render(f"emails/{name}", _context()) == render_template(f"emails/{name}", **_context())
    if name.endswith(".html"):
        assert TRICKY not in mine  # escaped
    elif "{{ seller }}" in (Path(__file__).parents[2] / "templates" / "emails" / name).read_text():
        assert TRICKY in mine  # plain text: as typed
