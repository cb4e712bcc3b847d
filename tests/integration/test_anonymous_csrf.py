"""Anonymous forms (log in, a seller's invite page, Register Here) are protected by a signed
token bound to a random cookie of their own, with no session created to render them."""
import re

import pytest
from sqlalchemy import func, select

from komet.extensions import db
from komet.invites import links
from komet.models import AccessRequest
from tests.factories import PASSWORD

REFUSED = "This form has expired"


def form_token(page):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.data.decode()).group(1)


def set_cookies(response):
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


@pytest.fixture
def invite(app, make):
    company = make.company("Alpha Flowers")
    with app.app_context():
        return company, links.link_for(company.id).token


def test_login_page_sets_no_session_cookie_only_a_csrf_cookie(client):
    page = client.get("/login")
    assert page.status_code == 200 and form_token(page)
    cookies = set_cookies(page)
    assert "session" not in cookies
    assert "HttpOnly" in cookies["komet_csrf"] and "SameSite=Lax" in cookies["komet_csrf"]


def test_invite_and_register_pages_set_no_session_cookie(client, invite):
    _, token = invite
    for url in (f"/i/{token}", f"/i/{token}/register"):
        page = client.get(url)
        assert page.status_code == 200 and form_token(page)
        assert "session" not in set_cookies(page)


def test_a_returning_visitor_keeps_their_csrf_cookie(client):
    client.get("/login")
    again = client.get("/login")
    assert set_cookies(again) == {}


def test_the_real_login_form_logs_in(client, make):
    staff = make.staff(make.company())
    token = form_token(client.get("/login"))
    response = client.post("/login", data={"csrf_token": token, "email": staff.email, "password": PASSWORD})
    assert response.status_code == 303
    assert "session" in set_cookies(response)


def test_the_real_register_form_stores_a_request(app, client, invite):
    _, token = invite
    page = client.get(f"/i/{token}/register")
    response = client.post(f"/i/{token}/register", data={
        "csrf_token": form_token(page), "business_name": "Bea's Shop", "contact_name": "Bea", "email": "bea@shop.example",
        "phone": "555-0100", "city": "Austin", "country": "USA", "message": "", "website": ""})
    assert response.status_code == 200 and "Thank you" in response.data.decode()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccessRequest)) == 1


def _refused(response):
    return response.status_code == 400 and REFUSED in response.data.decode()


def test_a_login_post_without_a_token_is_refused(client, make):
    staff = make.staff(make.company())
    client.get("/login")
    assert _refused(client.post("/login", data={"email": staff.email, "password": PASSWORD}))


def test_a_login_post_with_a_wrong_token_is_refused(client, make):
    staff = make.staff(make.company())
    token = form_token(client.get("/login"))
    assert _refused(client.post("/login", data={"csrf_token": token[:-2] + "xx", "email": staff.email,
                                                 "password": PASSWORD}))


def test_another_visitors_token_is_refused(app, make):
    staff = make.staff(make.company())
    attacker, victim = app.test_client(), app.test_client()
    stolen = form_token(attacker.get("/login"))  # a valid token, for the attacker's own cookie
    victim.get("/login")
    assert _refused(victim.post("/login", data={"csrf_token": stolen, "email": staff.email, "password": PASSWORD}))


def test_a_token_without_its_cookie_is_refused(app, make):
    staff = make.staff(make.company())
    visitor = app.test_client()
    token = form_token(visitor.get("/login"))
    visitor.delete_cookie("komet_csrf")
    assert _refused(visitor.post("/login", data={"csrf_token": token, "email": staff.email, "password": PASSWORD}))


def test_a_register_post_with_another_visitors_token_stores_nothing(app, invite):
    _, token = invite
    stolen = form_token(app.test_client().get(f"/i/{token}/register"))
    victim = app.test_client()
    victim.get(f"/i/{token}/register")
    response = victim.post(f"/i/{token}/register", data={"csrf_token": stolen, "business_name": "X", "contact_name": "X",
                                                         "email": "x@shop.example", "phone": "1", "city": "A",
                                                         "country": "USA"})
    assert _refused(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccessRequest)) == 0
