"""The public invite page is served from a per-app shell (komet/web/shell.py): these prove
that what a visitor sees, and what protects them, is what the template itself would give."""
import re
from itertools import count

import pytest
from flask import g, render_template, session
from flask_wtf.csrf import validate_csrf
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import update

from blueprints.invites.forms import InviteLoginForm
from komet.extensions import db
from komet.invites import links
from komet.models import Company
from komet.web import csrf_tokens, shell
from tests.factories import PASSWORD

REFUSED = "This form has expired"


def form_token(page):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.data.decode()).group(1)


def nonce(page):
    return re.search(r"'nonce-([\w-]+)'", page.headers["Content-Security-Policy"]).group(1)


@pytest.fixture
def invite(app, make):
    company = make.company("Alpha Flowers")
    with app.app_context():
        return company, links.link_for(company.id).token


def test_the_served_page_is_byte_for_byte_what_the_template_renders(app, invite):
    company, token = invite
    visitor = app.test_client()
    visitor.get(f"/i/{token}")
    page = visitor.get(f"/i/{token}")  # from the shell
    assert page.status_code == 200
    with app.test_request_context(f"/i/{token}"):
        link, seller = links.find(token)
        g.csp_nonce, g.csrf_token = nonce(page), form_token(page)
        expected = render_template("invites/show.html", link=link, seller=seller, token=token, form=InviteLoginForm())
    assert page.data.decode() == expected
    assert page.data.decode().count(nonce(page)) == 2 and page.data.decode().count(form_token(page)) == 2


def test_a_renamed_seller_shows_the_new_name_at_once(app, client, invite):
    company, token = invite
    assert "Welcome to Alpha Flowers" in client.get(f"/i/{token}").data.decode()
    with app.app_context():
        db.session.execute(update(Company).where(Company.id == company.id).values(name="Beta Blooms"))
        db.session.commit()
    page = client.get(f"/i/{token}").data.decode()
    assert "Welcome to Beta Blooms" in page and "Alpha Flowers" not in page


def test_pausing_and_resuming_the_link_changes_the_page_at_once(app, client, invite):
    company, token = invite
    assert b"Register Here" in client.get(f"/i/{token}").data
    with app.app_context():
        links.set_paused(links.link_for(company.id), True)
    paused = client.get(f"/i/{token}").data.decode()
    assert "not accepting new requests" in paused and "Register Here" not in paused
    with app.app_context():
        links.set_paused(links.link_for(company.id), False)
    assert b"Register Here" in client.get(f"/i/{token}").data


def test_a_regenerated_link_answers_404_and_the_new_one_posts_to_itself(app, client, invite):
    company, token = invite
    assert client.get(f"/i/{token}").status_code == 200
    with app.app_context():
        links.regenerate(links.link_for(company.id))
        fresh = links.link_for(company.id).token
    gone = client.get(f"/i/{token}")
    assert gone.status_code == 404 and b"Alpha Flowers" not in gone.data
    page = client.get(f"/i/{fresh}").data.decode()
    assert f'action="/i/{fresh}/login"' in page and f'href="/i/{fresh}/register"' in page and token not in page


def test_every_visit_is_one_query_the_cached_one_too(client, invite, queries):
    _, token = invite
    for _ in range(2):
        with queries:
            assert client.get(f"/i/{token}").status_code == 200
        assert queries.count == 1 and "invite_links.lookup = " in queries.statements[0]


def test_each_response_has_its_own_nonce_and_each_visitor_their_own_token(app, invite):
    _, token = invite
    first, second = app.test_client(), app.test_client()
    pages = [first.get(f"/i/{token}"), first.get(f"/i/{token}"), second.get(f"/i/{token}")]
    assert len({nonce(page) for page in pages}) == 3
    for page in pages:
        assert f'<meta name="csp-nonce" content="{nonce(page)}">' in page.data.decode()
        assert "HX-Request" in page.headers["Vary"] and "session" not in page.headers.get("Set-Cookie", "")
    assert form_token(pages[0]) != form_token(pages[2])
    assert "komet_csrf=" in pages[0].headers["Set-Cookie"] and "Set-Cookie" not in pages[1].headers


def test_the_pages_token_logs_in_and_another_visitors_or_none_is_refused(app, make, invite):
    company, token = invite
    buyer = make.buyer(make.customer(company))
    login = {"email": buyer.email, "password": PASSWORD}
    attacker, victim = app.test_client(), app.test_client()
    stolen = form_token(attacker.get(f"/i/{token}"))
    mine = form_token(victim.get(f"/i/{token}"))
    for data in ({**login, "csrf_token": stolen}, login, {**login, "csrf_token": mine[:-2] + "xx"}):
        response = victim.post(f"/i/{token}/login", data=data)
        assert response.status_code == 400 and REFUSED in response.data.decode()
    response = victim.post(f"/i/{token}/login", data={**login, "csrf_token": mine})
    assert response.status_code == 303 and response.location.endswith("/shop/")


def test_a_flash_message_is_shown_once_on_the_invite_page(app, invite):
    _, token = invite
    visitor = app.test_client()
    visitor.get(f"/i/{token}")  # the shell is made
    with visitor.session_transaction() as session:
        session["_flashes"] = [("info", "You have logged out.")]
    assert "You have logged out." in visitor.get(f"/i/{token}").data.decode()
    assert "You have logged out." not in visitor.get(f"/i/{token}").data.decode()


@pytest.mark.parametrize("own", ["remember cookie", "login"])
def test_a_visitor_with_a_remember_cookie_or_a_login_gets_the_page_rendered_for_them(app, make, invite, monkeypatch, own):
    company, token = invite
    app.test_client().get(f"/i/{token}")  # the shell is made
    visitor = app.test_client()
    if own == "login":
        visitor.login_as(make.buyer(make.customer(company)))
    else:
        visitor.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), "x")
    rendered = []
    monkeypatch.setattr(shell, "render_template", lambda *a, **k: rendered.append(a) or "page")
    visitor.get(f"/i/{token}")
    assert rendered == [("invites/show.html",)]


def test_the_csrf_token_is_flask_wtfs_own_for_the_same_secret_and_second(app, monkeypatch):
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_800_000_000)
    with app.test_request_context("/"):
        token = csrf_tokens.form_token()
        secret = session["csrf_token"]
        assert csrf_tokens.form_token() == token  # once per request, as Flask-WTF does
        serializer = URLSafeTimedSerializer(app.config.get("WTF_CSRF_SECRET_KEY", app.secret_key), salt="wtf-csrf-token")
        assert token == serializer.dumps(secret)
    monkeypatch.undo()
    with app.test_request_context("/"):
        session["csrf_token"] = secret
        validate_csrf(token)  # raises if refused


def test_a_returning_visitors_token_is_signed_once_and_then_reused(app, invite, monkeypatch):
    _, token = invite
    clock = count(1_800_000_000)  # every signing a second later: a token signed again would differ
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: next(clock))
    visitor = app.test_client()
    tokens = [form_token(visitor.get(f"/i/{token}")) for _ in range(3)]
    assert tokens[0] != tokens[1] == tokens[2]  # a secret made by the request is not kept; a returning one is


@pytest.mark.parametrize("odd", ["time limit", "secret"])
def test_a_time_limit_or_a_secret_flask_wtf_did_not_make_goes_to_flask_wtf(app, monkeypatch, odd):
    made = []
    monkeypatch.setattr(csrf_tokens, "generate_csrf", lambda: made.append(1) or "flask-wtf's token")
    if odd == "time limit":
        monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 3600)
    with app.test_request_context("/"):
        session["csrf_token"] = "a" * 40 if odd == "time limit" else "not forty hex digits"
        assert csrf_tokens.form_token() == "flask-wtf's token" and made == [1]
