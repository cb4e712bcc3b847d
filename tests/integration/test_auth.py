"""Logging in and out, choosing a company, and where each kind of user lands."""
from sqlalchemy import select

from komet.extensions import db
from komet.models import User
from tests.factories import PASSWORD


def login(client, email, password=PASSWORD, **extra):
    return client.form_post("/login", {"email": email, "password": password, **extra})


def test_login_page_shows_the_form(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in" in response.data and b'name="password"' in response.data


def test_staff_land_in_setup_after_login(client, make):
    company = make.company("Bloom")
    admin = make.staff(company)
    response = login(client, admin.email)
    assert response.status_code == 303 and response.location.endswith("/setup/")
    page = client.get("/setup/settings")
    assert page.status_code == 200 and b"Bloom" in page.data and b"Promotions and Messages" in page.data


def test_email_login_is_case_insensitive(client, make):
    admin = make.staff(make.company(), email="Ada@Example.com")
    assert login(client, "  ADA@example.COM ").status_code == 303


def test_wrong_password_is_a_422_with_a_message_next_to_the_field(client, make):
    admin = make.staff(make.company())
    response = login(client, admin.email, "wrong password")
    assert response.status_code == 422
    assert b"Email or password is incorrect." in response.data
    assert b'aria-invalid="true"' in response.data


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client):
    response = login(client, "nobody@example.com")
    assert response.status_code == 422 and b"Email or password is incorrect." in response.data


def test_empty_form_says_what_is_missing(client):
    response = client.form_post("/login", {"email": "", "password": ""})
    assert response.status_code == 422
    assert b"Enter your email." in response.data and b"Enter your password." in response.data


def test_login_without_csrf_token_is_refused(client, make):
    admin = make.staff(make.company())
    response = client.post("/login", data={"email": admin.email, "password": PASSWORD})
    assert response.status_code == 400 and b"This form has expired" in response.data


def test_buyer_with_one_customer_lands_in_the_shop(client, make):
    company = make.company("Bloom")
    buyer = make.buyer(make.customer(company, "Rose Cafe"))
    response = login(client, buyer.email)
    assert response.location.endswith("/shop/")
    shop = client.get("/shop/")
    assert b"Bloom" in shop.data and b"Rose Cafe" in shop.data
    assert b"Change Company" not in shop.data


def test_buyer_of_two_sellers_picks_one_then_can_change_company(client, make):
    bloom, harvest = make.company("Bloom"), make.company("Harvest")
    buyer = make.buyer(make.customer(bloom, "Green Market"))
    second = make.link(buyer, make.customer(harvest, "Green Market Deli"))
    assert login(client, buyer.email).location.endswith("/choose")
    choices = client.get("/choose").data.decode()
    # Company name before the customer name, both companies offered.
    assert choices.index("Bloom") < choices.index("Green Market<")
    assert "Harvest" in choices and "Green Market Deli" in choices
    response = client.form_post("/choose", {"workspace": second.workspace})
    assert response.status_code == 303 and response.location.endswith("/shop/")
    shop = client.get("/shop/").data.decode()
    assert "Harvest" in shop and "Green Market Deli" in shop and "Change Company" in shop
    assert "Bloom" not in shop


def test_choosing_a_workspace_of_someone_else_is_refused(client, make, two_companies):
    buyer = two_companies["a_buyer"]
    client.login_as(buyer)
    response = client.form_post("/choose", {"workspace": two_companies["b_buyer"].workspace})
    assert response.status_code == 422 and b"not available to you" in response.data


def test_inactive_link_does_not_open_the_shop(client, make):
    buyer = make.buyer(make.customer(make.company()), active=False)
    assert login(client, buyer.email).location.endswith("/choose")
    assert b"not linked to any company yet" in client.get("/choose").data
    assert client.get("/shop/").status_code == 303


def test_a_buyer_disabled_at_their_only_seller_is_told_who_ended_it_and_whom_to_write_to(client, make):
    from komet.models import LinkStatus, Role

    seller = make.company("Bloom Wholesale")
    make.staff(seller, email="anna@bloom.example")
    make.staff(seller, role=Role.SALES_MANAGER, email="sam@bloom.example")
    buyer = make.buyer(make.customer(seller), active=LinkStatus.DISABLED)
    assert login(client, buyer.email).location.endswith("/choose")
    page = client.get("/choose").text
    assert "Bloom Wholesale has ended your access" in page and 'href="mailto:anna@bloom.example"' in page
    assert "not linked to any company yet" not in page and "sam@bloom.example" not in page


def test_logout_ends_the_session(client, make):
    admin = make.staff(make.company())
    login(client, admin.email)
    response = client.form_post("/logout")
    assert response.status_code == 303 and response.location.endswith("/login")
    assert client.get("/setup/settings").status_code == 303


def test_pages_redirect_anonymous_users_to_login(client):
    response = client.get("/setup/settings")
    assert response.status_code == 303 and "/login?next=" in response.location


def test_htmx_request_without_login_gets_hx_redirect_not_a_login_page(client):
    response = client.hx_get("/setup/users")
    assert response.status_code == 200 and response.data == b""
    assert response.headers["HX-Redirect"].startswith("/login")


def test_every_response_varies_on_hx_request(client):
    assert "HX-Request" in client.get("/login").headers["Vary"]


def test_login_is_rate_limited(app, client, make):
    admin = make.staff(make.company())
    for _ in range(10):
        login(client, admin.email, "wrong password")
    response = login(client, admin.email)  # even the right password waits now
    assert response.status_code == 429
    assert b"Too many attempts" in response.data


def test_next_parameter_returns_to_the_page_after_login(client, make):
    admin = make.staff(make.company())
    response = login(client, admin.email, next="/setup/users")
    assert response.location.endswith("/setup/users")


def test_next_parameter_cannot_leave_the_site(client, make):
    admin = make.staff(make.company())
    response = login(client, admin.email, next="//evil.example/")
    assert response.location.endswith("/setup/")


def test_stored_email_is_normalised(app, make):
    make.staff(make.company(), email="MiXeD@Example.com")
    with app.app_context():
        assert db.session.scalar(select(User.email)) == "mixed@example.com"


def test_next_parameter_with_a_backslash_cannot_leave_the_site(client, make):
    admin = make.staff(make.company())
    response = login(client, admin.email, next="/\\evil.example/")
    assert response.location.endswith("/setup/")
