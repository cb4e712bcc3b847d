"""The shop, Message History and Setup > Users are served from pre-rendered shells
(komet/web/shell.py): each is the very page the templates draw, with this response's own
nonce, form token and flashes, and a change to anything the layout shows is on the next page."""
import re

import pytest
from flask import render_template, template_rendered
from sqlalchemy import update

from komet.extensions import db
from komet.models import Company, Customer, Membership, Product, Role, User
from komet.web import shell

HISTORY = "/setup/settings/promotions-and-messages/"
USERS = "/setup/users"
TOKEN = re.compile(r"(?<=[\"'])[\w-]{20,}\.[\w-]{5,}\.[\w-]{20,}(?=[\"'])")  # Flask-WTF's signed token


@pytest.fixture
def seller(make):
    company = make.company("Bloom & Co")
    customer = make.customer(company, "Corner Florist")
    make.product(company, "Red roses", "12.50")
    make.message(company, "Tulip week")
    make.ecommerce_user(company)
    return {"company": company, "customer": customer, "admin": make.staff(company), "buyer": make.buyer(customer)}


@pytest.fixture
def rendered(app):
    """The names of the templates Jinja draws inside a `with rendered:` block."""

    class Rendered(list):
        def _on(self, sender, template, context, **extra):
            self.append(template.name)

        def __enter__(self):
            self.clear()
            template_rendered.connect(self._on, app)
            return self

        def __exit__(self, *exc):
            template_rendered.disconnect(self._on, app)

    return Rendered()


def _plain(template, key=(), slots=None, **context):
    """The page as it was drawn before shells: the whole template, every request."""
    return render_template(template, **(slots or {}), **context)


def _normalised(response):
    """The page with this response's nonce (from its CSP header) and form tokens taken out."""
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    return TOKEN.sub("TOKEN", response.data.decode().replace(nonce, "NONCE"))


@pytest.mark.parametrize("page", ["/shop/", HISTORY, USERS, f"{USERS}?q=Buyer&status=active"])
def test_a_page_from_its_shell_is_the_page_the_templates_draw(app, seller, monkeypatch, page):
    who = seller["buyer"] if page == "/shop/" else seller["admin"]
    client = app.test_client().login_as(who, workspace_count=2)
    client.get(page)
    from_shell = client.get(page)
    monkeypatch.setattr(shell, "render_page", _plain)
    drawn = client.get(page)
    assert from_shell.status_code == drawn.status_code == 200
    assert _normalised(from_shell) == _normalised(drawn)
    assert from_shell.headers.get("Vary") == drawn.headers.get("Vary")
    assert "Red roses" in drawn.data.decode() if page == "/shop/" else "Change Company" in drawn.data.decode()


def test_a_warm_shell_draws_no_template_and_runs_no_query_of_its_own(app, seller, rendered, queries):
    first, second = (app.test_client().login_as(seller["buyer"]) for _ in range(2))
    first.get("/shop/")
    with rendered, queries:
        assert second.get("/shop/").status_code == 200
    assert rendered == []
    assert queries.count == 2  # the session (with the versions) and the catalogue


@pytest.mark.parametrize("page", [HISTORY, USERS])
def test_a_warm_setup_page_draws_no_template_and_runs_only_the_session_query(app, seller, rendered, queries, page):
    first, second = (app.test_client().login_as(seller["admin"]) for _ in range(2))
    first.get(page)
    with rendered, queries:
        assert second.get(page).status_code == 200
    assert rendered == []
    assert queries.count == 1  # the session, with the versions that key the cached table


def test_each_response_has_its_own_nonce_and_each_session_its_own_token(app, seller):
    first, second = (app.test_client().login_as(seller["admin"]) for _ in range(2))
    pages = [client.get(HISTORY) for client in (first, second, first)]
    nonces = [re.search(r"'nonce-([^']+)'", p.headers["Content-Security-Policy"]).group(1) for p in pages]
    assert len(set(nonces)) == 3
    for page, nonce in zip(pages, nonces):
        assert page.data.decode().count(nonce) == 2  # htmx's config and <meta name="csp-nonce">
    tokens = [set(TOKEN.findall(p.data.decode())) for p in pages]
    assert all(len(t) == 1 for t in tokens)  # the body's hx-headers, Log out and the rows: one token
    assert tokens[0] != tokens[1]
    assert tokens[0] == tokens[2]  # the same session's secret, signed once in this process


def test_the_token_in_a_shell_page_logs_out(app, seller):
    client = app.test_client().login_as(seller["buyer"])
    client.get("/shop/")
    page = client.get("/shop/").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code in (302, 303)
    assert client.get("/shop/").status_code in (302, 303)  # logged out


def _rename(model, ident, name):
    db.session.execute(update(model).where(model.id == ident).values(name=name))
    db.session.commit()


@pytest.mark.parametrize("model, who, new_name", [
    (Company, "company", "Bloom & Sons"), (Customer, "customer", "Corner Shop"), (User, "buyer", "Pat Buyer")])
def test_a_renamed_company_customer_or_user_shows_on_the_next_shop_page(app, seller, model, who, new_name):
    client = app.test_client().login_as(seller["buyer"])
    client.get("/shop/")
    with app.app_context():
        _rename(model, seller[who].id, new_name)
    assert new_name.replace("&", "&amp;") in client.get("/shop/").data.decode()


def test_a_new_product_shows_on_the_next_shop_page(app, make, seller):
    client = app.test_client().login_as(seller["buyer"])
    assert "White lilies" not in client.get("/shop/").data.decode()
    make.product(seller["company"], "White lilies")
    assert "White lilies" in client.get("/shop/").data.decode()
    with app.app_context():
        db.session.execute(update(Product).where(Product.name == "White lilies").values(price=99))
        db.session.commit()
    assert "$99.00" in client.get("/shop/").data.decode()


def test_change_company_and_the_focused_shop_follow_the_session(app, seller):
    one, two = (app.test_client().login_as(seller["buyer"], workspace_count=n) for n in (1, 2))
    assert "Change Company" not in one.get("/shop/").data.decode()
    assert "Change Company" in two.get("/shop/").data.decode()
    with one.session_transaction() as session:
        session["focused_company"] = seller["company"].id
    focused = one.get("/shop/").data.decode()
    assert 'class="shop focused"' in focused and "Sign out" in focused and "Log out" not in focused


def test_a_changed_role_shows_its_own_setup_navigation(app, seller):
    client = app.test_client().login_as(seller["admin"])
    assert 'href="/setup/emails' in client.get(HISTORY).data.decode()  # Admin: View Emails
    with app.app_context():
        db.session.execute(update(Membership).where(Membership.user_id == seller["admin"].id)
                           .values(role=Role.SETUP))
        db.session.commit()
    page = client.get(HISTORY).data.decode()
    assert 'href="/setup/emails' not in page and "Message History" in page


def test_a_flashed_message_shows_once_on_a_shell_page(app, seller):
    client = app.test_client().login_as(seller["admin"])
    client.get(HISTORY)
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Message “Tulip <week>” saved.")]
    page = client.get(HISTORY).data.decode()
    assert '<p class="flash flash-success" role="status">Message “Tulip &lt;week&gt;” saved.</p>' in page
    assert "flash-success" not in client.get(HISTORY).data.decode()


def test_the_search_words_are_part_of_a_shell_key(app, seller):
    client = app.test_client().login_as(seller["admin"])
    client.get(f"{HISTORY}?q=tulip")
    assert 'value="spring"' in client.get(f"{HISTORY}?q=spring").data.decode()
    client.get(f"{USERS}?q=a&status=active")
    page = client.get(f"{USERS}?q=a&status=pending").data.decode()
    assert '<option value="pending" selected>' in page and '<option value="active" selected>' not in page


def test_a_shell_never_holds_a_request_s_token_or_nonce(app, seller):
    client = app.test_client().login_as(seller["buyer"])
    client.get("/shop/")
    pieces = [p for entry in list(app.extensions["komet.shells"].entries.values()) for p in entry]
    assert pieces and not any(TOKEN.search(p) for p in pieces)
    assert {"nonce", "csrf", "flashes", "messages_region"} <= set(pieces)
