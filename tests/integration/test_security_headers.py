"""Headers, cookies and sessions: what a browser is told to enforce, and logout that ends it."""
import re

import pytest

from config import ProductionConfig
from komet import create_app
from tests.factories import PASSWORD


def _policy(response):
    return dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))


def test_every_page_allows_only_its_own_scripts_and_the_pinned_cdn_files(app, client):
    response = client.get("/login")
    policy = _policy(response)
    assert policy["script-src"] == f"'self' {app.config['HTMX_URL']} {app.config['TRIX_JS_URL']}"
    assert policy["style-src"].startswith(f"'self' {app.config['TRIX_CSS_URL']} 'nonce-")
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # only production, behind HTTPS


def test_the_style_nonce_is_fresh_on_every_response_and_given_to_trix(client):
    first, second = client.get("/login"), client.get("/login")
    nonce = _policy(first)["style-src"].rsplit("'nonce-", 1)[1].rstrip("'")
    assert f'<meta name="csp-nonce" content="{nonce}">' in first.data.decode()
    assert nonce not in second.headers["Content-Security-Policy"]


def test_logged_in_pages_are_never_stored_by_a_cache(client, make):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    client.login_as(make.staff(make.company()))
    assert client.get("/setup/settings").headers["Cache-Control"] == "no-store"


@pytest.fixture
def production(app, smtp_sink):
    prod = create_app(ProductionConfig, SECRET_KEY="p" * 40, BROKER_URL=app.config["BROKER_URL"],
                      SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      RATELIMIT_STORAGE_URI="memory://", MAIL_PORT=smtp_sink.port)
    prod.test_client_class = app.test_client_class
    return prod


def test_production_sends_hsts_and_secure_samesite_remember_cookies(production, make):
    staff = make.staff(make.company())
    client = production.test_client()
    response = client.form_post("/login", {"email": staff.email, "password": PASSWORD, "remember": "y"},
                                base_url="https://localhost", headers={"Referer": "https://localhost/login"})
    assert response.status_code == 303
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("remember_token", "session"):
        assert "Secure" in cookies[name] and "SameSite=Lax" in cookies[name] and "HttpOnly" in cookies[name]


def test_production_never_has_a_dev_mailbox(production, app):
    assert not any(rule.rule.startswith("/dev/mail") for rule in production.url_map.iter_rules())
    with pytest.raises(RuntimeError, match="DEVMAIL_ENABLED"):
        create_app(ProductionConfig, SECRET_KEY="p" * 40, BROKER_URL=app.config["BROKER_URL"],
                   SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], DEVMAIL_ENABLED=True)


def test_production_keeps_an_anonymous_visitors_csrf_secret_in_a_host_only_secure_cookie(production, make):
    staff = make.staff(make.company())
    client = production.test_client()
    page = client.get("/login", base_url="https://localhost")
    cookies = {c.split("=", 1)[0]: c for c in page.headers.getlist("Set-Cookie")}
    assert set(cookies) == {"__Host-komet_csrf"}  # no session to render a form
    assert all(flag in cookies["__Host-komet_csrf"] for flag in ("Secure", "HttpOnly", "Path=/", "SameSite=Lax"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.data.decode()).group(1)
    response = client.post("/login", data={"csrf_token": token, "email": staff.email, "password": PASSWORD},
                           base_url="https://localhost", headers={"Referer": "https://localhost/login"})
    assert response.status_code == 303
