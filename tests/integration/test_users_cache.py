"""Setup > Users' table is cached (komet.caching, companies.users_version), and every change to
what it shows is on the very next page, with the cache warm."""
import re

from sqlalchemy import update

from komet.accounts import activation
from komet.demo import load_demo_data
from komet.extensions import db
from komet.invites import requests
from komet.models import Company, EcommerceUser, LinkStatus, User
from tests.factories import PASSWORD
from tests.integration.test_ecommerce_users import seller  # noqa: F401 - the same company, admin and customers
from tests.integration.test_user_import import run_import, upload

USERS = "/setup/users"


def _row(page, account_id):
    """The text of one user's row, tags dropped and whitespace collapsed."""
    row = re.search(rf'<tr id="user-{account_id}">.*?</tr>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", row[0]).split()) if row else None


def _table(page):
    """The list itself (not the notices above it, which may name the same person)."""
    return page[page.index('<div id="users-table">'):]


def _token(page):
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


def test_a_warm_list_is_really_used_and_costs_the_session_query_alone(app, client, make, seller, queries):
    make.ecommerce_user(seller["company"], seller["rose"])
    client.get(USERS)
    colleague = app.test_client().login_as(make.staff(seller["company"]))
    with queries:
        page = colleague.get(USERS)
    assert page.status_code == 200 and "Rose Café" in page.text
    assert queries.count == 1  # the session (with the users version): no list query


def test_the_htmx_fragment_is_the_full_pages_table(client, make, seller):
    make.ecommerce_user(seller["company"], seller["rose"])
    for _ in range(2):  # a miss, then a hit
        fragment = client.hx_get(USERS + "?q=rose").text
        page = client.get(USERS + "?q=rose").text
        assert fragment.lstrip().startswith('<div id="users-table">') and "<html" not in fragment
        assert fragment in page and "Rose Café" in fragment


def test_each_session_gets_its_own_form_token_from_the_cached_table(app, make, seller):
    make.ecommerce_user(seller["company"], seller["rose"])
    other_admin = make.staff(seller["company"])
    pages = [app.test_client().login_as(staff).get(USERS).text for staff in (seller["admin"], other_admin)]
    for page in pages:
        tokens = set(re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', page))
        assert tokens == {_token(page)} and "<csrf-token>" not in page
    assert _token(pages[0]) != _token(pages[1])


def test_company_b_never_gets_company_as_cached_table(app, client, make, seller):
    make.ecommerce_user(seller["company"], seller["rose"], email="ann@bloom.example")
    assert "ann@bloom.example" in client.get(USERS).text
    other = make.company("Harvest")
    make.ecommerce_user(other, make.customer(other, "Deli"), email="bo@harvest.example")
    theirs = app.test_client().login_as(make.staff(other))
    for path in (USERS, USERS + "?q=example"):
        page = theirs.get(path).text
        assert "bo@harvest.example" in page and "ann@bloom.example" not in page and "Rose Café" not in page


def test_an_added_user_is_on_the_next_page(client, seller):
    client.get(USERS)
    client.form_post(USERS + "/new", {"name": "Ada Buyer", "email": "ada@example.com", "username": "ada",
                                      "customers": [seller["rose"].id]})
    assert "ada@example.com" in _table(client.get(USERS).text)


def test_an_edit_and_changed_customers_are_on_the_next_page(client, make, seller):
    account = make.ecommerce_user(seller["company"], seller["rose"])
    assert "Rose Café" in _row(client.get(USERS).text, account.id)
    client.hx_post(f"{USERS}/{account.id}", {f"u{account.id}-name": "Ada Lovelace", f"u{account.id}-username": "adal",
                                             f"u{account.id}-customers": [seller["green"].id]})
    row = _row(client.get(USERS).text, account.id)
    assert "Ada Lovelace" in row and "adal" in row and "Green Market" in row and "Rose Café" not in row


def test_disable_and_enable_are_on_the_next_page(client, make, seller):
    account = make.ecommerce_user(seller["company"], seller["rose"])
    assert "Active" in _row(client.get(USERS).text, account.id)
    client.hx_post(f"{USERS}/{account.id}/disable")
    assert "Disabled" in _row(client.get(USERS).text, account.id)
    client.hx_post(f"{USERS}/{account.id}/enable")
    assert "Active" in _row(client.get(USERS).text, account.id)


def test_an_activation_is_on_the_next_page(app, client, make, seller):
    account = make.ecommerce_user(seller["company"], seller["rose"], status=LinkStatus.PENDING)
    with app.app_context():  # the login has a password: its email is a confirm link
        link = db.session.get(EcommerceUser, account.id)
        activation.send(link, db.session.get(User, link.user_id))
        db.session.commit()
        token = activation.make_token(activation.LINK_CONFIRM, link)
    assert "Pending" in _row(client.get(USERS).text, account.id)
    assert app.test_client().form_post(f"/confirm-link/{token}").status_code == 303
    assert "Active" in _row(client.get(USERS).text, account.id)


def test_an_import_is_on_the_next_page(app, client, seller):
    client.get(USERS)
    run_import(app, client, upload(client, "name;email;username;customer\nCy Importer;cy@example.com;cy;Rose Café\n").location)
    assert "cy@example.com" in _table(client.get(USERS).text)


def test_an_approved_access_request_is_on_the_next_page(app, client, seller):
    with app.app_context():
        request_id = requests.submit(seller["company"].id, business_name="Tulip Shop", contact_name="Rosa Diaz",
                                     email="rosa@example.com", phone="555-0100", city="Miami", country="USA",
                                     message="Hello", website="")[0].id
    client.get(USERS)
    response = client.form_post(f"{USERS}/invite/requests/{request_id}/approve",
                                data={"choice": "new", "customer_name": "Tulip Shop"})
    assert response.status_code == 303
    assert "rosa@example.com" in _table(client.get(USERS).text)


def test_a_buyers_sign_in_is_on_the_next_page(app, client, make, seller):
    buyer = make.buyer(seller["rose"])
    assert "Never" in client.get(USERS).text
    app.test_client().form_post("/login", {"email": buyer.email, "password": PASSWORD})
    assert "Never" not in client.get(USERS).text


def test_demo_buyers_added_to_a_company_whose_list_is_cached_are_on_its_next_page(app, client, make):
    bloom = make.company("Bloom Wholesale Flowers")
    with app.app_context():
        db.session.execute(update(Company).where(Company.id == bloom.id).values(slug="bloom"))
        db.session.commit()
    client.login_as(make.staff(bloom))
    assert "Rosa Buyer" not in _table(client.get(USERS).text)  # cached without the demo's buyers
    with app.app_context():
        load_demo_data()
    assert "Rosa Buyer" in _table(client.get(USERS).text) and "Milo Multi" in _table(client.get(USERS).text)
