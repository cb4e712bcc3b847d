"""Setup > Users: staff add, edit, disable and enable e-commerce users; buyers activate."""
import re

import pytest
from sqlalchemy import func, select

from komet.extensions import db
from komet.models import CustomerUser, EcommerceUser, LinkStatus, Role, User
from tests.factories import PASSWORD
from tests.mailsink import text_of


@pytest.fixture
def seller(make, client):
    company = make.company("Bloom Wholesale")
    admin = make.staff(company)
    client.login_as(admin)
    return {"company": company, "admin": admin, "rose": make.customer(company, "Rose Café"),
            "green": make.customer(company, "Green Market")}


def add(client, customers, name="Ada Buyer", email="ada@example.com", username="ada", **extra):
    return client.form_post("/setup/users/new", {"name": name, "email": email, "username": username,
                                                 "customers": [c.id for c in customers], **extra})


def link_in(smtp_sink, address, path):
    [message] = smtp_sink.wait_for(1, address=address)[-1:]
    return message, re.search(rf"http://komet\.test(/{path}/\S+)", text_of(message)).group(1)


def account_of(app, email):
    with app.app_context():
        return db.session.scalar(select(EcommerceUser).join(User, User.id == EcommerceUser.user_id)
                                 .where(User.email == email))


def test_new_email_creates_a_pending_login_and_sends_the_activation_email(app, client, seller, worker, smtp_sink):
    response = add(client, [seller["rose"], seller["green"]], email="Ada@Example.com ", username="Ada.B")
    assert response.status_code == 303 and response.location.endswith("/setup/users")
    page = client.get("/setup/users").data.decode()
    assert "ada@example.com" in page and "ada.b" in page and "Pending" in page
    assert "Green Market, Rose Café" in page
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        assert user.password_hash is None
    worker()
    message, url = link_in(smtp_sink, "ada@example.com", "activate")
    assert "Bloom Wholesale" in message["Subject"] and "ada.b" in text_of(message)
    # Until activation the login cannot sign in.
    assert app.test_client().form_post("/login", {"email": "ada@example.com",
                                                  "password": "anything at all"}).status_code == 422
    buyer = app.test_client()
    assert b"at least 10 characters" in buyer.get(url).data
    short = buyer.form_post(url, {"password": "short", "confirm": "short"})
    assert short.status_code == 422 and b"Use at least 10 characters." in short.data
    done = buyer.form_post(url, {"password": "tulips in spring", "confirm": "tulips in spring"})
    assert done.status_code == 303 and done.location.endswith("/choose")  # two customers: the selection screen
    choose = buyer.get("/choose").text
    assert "Green Market" in choose and "Rose Café" in choose
    assert account_of(app, "ada@example.com").status == LinkStatus.ACTIVE
    again = app.test_client().get(url)
    assert again.status_code == 410 and b"already been used" in again.data


def test_existing_login_needs_the_confirmation_window_and_never_learns_other_companies(
        app, client, make, seller, worker, smtp_sink):
    other = make.company("Secret Produce Co")
    make.buyer(make.customer(other, "Hidden Deli"), email="milo@example.com")
    first = add(client, [seller["rose"]], name="Milo", email="MILO@example.com", username="milo")
    assert first.status_code == 200
    page = first.data.decode()
    assert "<dialog" in page and "already has a Komet login" in page
    assert "Secret Produce" not in page and "Hidden Deli" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EcommerceUser)
                                 .where(EcommerceUser.company_id == seller["company"].id)) == 0
    confirmed = add(client, [seller["rose"]], name="Milo", email="milo@example.com", username="milo",
                    confirm_existing="1")
    assert confirmed.status_code == 303
    worker()
    message, url = link_in(smtp_sink, "milo@example.com", "confirm-link")
    assert "Confirm that you work with Bloom Wholesale" in message["Subject"]
    buyer = app.test_client()
    assert b"Confirm Bloom Wholesale" in buyer.get(url).data
    assert buyer.form_post(url).status_code == 303
    login = buyer.form_post("/login", {"email": "milo@example.com", "password": PASSWORD})
    assert login.location.endswith("/choose")
    choose = buyer.get("/choose").data.decode()
    assert choose.index("Bloom Wholesale") < choose.index("Rose Café") and "Secret Produce Co" in choose


def test_buyer_with_one_customer_goes_straight_to_the_shop_after_activation(app, client, seller, worker, smtp_sink):
    add(client, [seller["rose"]])
    worker()
    _, url = link_in(smtp_sink, "ada@example.com", "activate")
    buyer = app.test_client()
    done = buyer.form_post(url, {"password": "tulips in spring", "confirm": "tulips in spring"})
    assert done.status_code == 303 and done.location.endswith("/shop/")
    shop = buyer.get("/shop/").text
    assert "Welcome to Bloom Wholesale" in shop and "Rose Café" in shop


def test_token_for_company_a_never_activates_company_b(app, client, make, seller, worker, smtp_sink):
    add(client, [seller["rose"]])
    worker()
    _, url = link_in(smtp_sink, "ada@example.com", "activate")
    other = make.company("Beta")
    b_admin = make.staff(other)
    b_client = app.test_client().login_as(b_admin)
    add(b_client, [make.customer(other)], confirm_existing="1")
    app.test_client().form_post(url, {"password": "tulips in spring", "confirm": "tulips in spring"})
    with app.app_context():
        statuses = dict(db.session.execute(select(EcommerceUser.company_id, EcommerceUser.status)).all())
    assert statuses == {seller["company"].id: LinkStatus.ACTIVE, other.id: LinkStatus.PENDING}


def test_a_token_is_bound_to_its_purpose(app, client, seller, worker, smtp_sink):
    add(client, [seller["rose"]])
    worker()
    _, url = link_in(smtp_sink, "ada@example.com", "activate")
    wrong_purpose = app.test_client().get(url.replace("/activate/", "/confirm-link/"))
    assert wrong_purpose.status_code == 410 and b"not a valid activation link" in wrong_purpose.data


def test_resending_activation_makes_the_old_link_stop_working(app, client, seller, worker, smtp_sink):
    add(client, [seller["rose"]])
    worker()
    _, old = link_in(smtp_sink, "ada@example.com", "activate")
    account = account_of(app, "ada@example.com")
    response = client.hx_post(f"/setup/users/{account.id}/resend")
    assert response.status_code == 200 and 'id="user-' in response.text and "Pending" in response.text
    worker()
    _, new = link_in(smtp_sink, "ada@example.com", "activate")
    assert new != old
    assert app.test_client().get(old).status_code == 410
    assert app.test_client().get(new).status_code == 200


def test_expired_and_tampered_links_offer_a_new_one_without_revealing_the_email(app, client, seller, worker,
                                                                               smtp_sink):
    add(client, [seller["rose"]])
    worker()
    _, url = link_in(smtp_sink, "ada@example.com", "activate")
    tampered = app.test_client().get(url[:-3] + "abc")
    assert tampered.status_code == 410 and b"Send me a new link" in tampered.data
    app.config["ACTIVATION_MAX_AGE"] = -1
    try:
        expired = app.test_client().get(url)
    finally:
        app.config["ACTIVATION_MAX_AGE"] = 7 * 24 * 3600
    assert expired.status_code == 410 and b"It has expired." in expired.data
    known = app.test_client().form_post("/activation/new-link", {"email": "ada@example.com"})
    unknown = app.test_client().form_post("/activation/new-link", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    for response, email in ((known, "ada@example.com"), (unknown, "nobody@example.com")):
        assert f"If <strong>{email}</strong> has an invitation waiting, we" in response.text
    worker()
    assert len(smtp_sink.to("ada@example.com")) == 2 and not smtp_sink.to("nobody@example.com")


@pytest.mark.parametrize("fields, field, message", [
    ({"email": "not-an-email"}, "email", "Enter a valid email address"),
    ({"customers": []}, "customers", "Choose at least one customer."),
    ({"username": "has space"}, "username", "no spaces"),
    ({"name": ""}, "name", "Enter the person&#39;s name."),
])
def test_bad_input_is_a_422_with_the_message_next_to_the_field(app, client, seller, fields, field, message):
    data = {"name": "Ada", "email": "ada@example.com", "username": "ada", "customers": [seller["rose"].id], **fields}
    response = client.form_post("/setup/users/new", data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{re.escape(message)}', response.text)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "ada@example.com")) == 0


def test_another_companys_customer_is_a_404_and_nothing_is_saved(app, client, make, seller):
    foreign = make.customer(make.company("Other"))
    assert add(client, [seller["rose"], foreign]).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "ada@example.com")) == 0


def test_username_is_unique_per_company_whatever_its_case(client, make, seller):
    add(client, [seller["rose"]], username="ada")
    response = add(client, [seller["rose"]], email="other@example.com", username="ADA")
    assert response.status_code == 422 and "has this username" in response.text
    # Another company may use the same username.
    other = make.company("Other")
    other_client = client.application.test_client().login_as(make.staff(other))
    assert add(other_client, [make.customer(other)], email="x@example.com", username="ada").status_code == 303


def test_adding_someone_already_here_says_to_edit_them(client, seller):
    add(client, [seller["rose"]])
    response = add(client, [seller["green"]], confirm_existing="1")
    assert response.status_code == 422 and "use Edit to add customers" in response.text


def test_edit_changes_name_username_and_customers_and_the_audit_log_says_so(app, client, seller):
    add(client, [seller["rose"]])
    account = account_of(app, "ada@example.com")
    edit = client.hx_get(f"/setup/users/{account.id}/edit")
    assert edit.status_code == 200 and "ada@example.com" in edit.text and 'name="u%d-email"' % account.id not in edit.text
    response = client.hx_post(f"/setup/users/{account.id}", {f"u{account.id}-name": "Ada Lovelace",
                                                              f"u{account.id}-username": "ada.l",
                                                              f"u{account.id}-customers": [seller["green"].id]})
    assert response.status_code == 200 and response.text.strip().startswith(f'<tr id="user-{account.id}">')
    assert "Ada Lovelace" in response.text and "Green Market" in response.text and "Rose Café" not in response.text
    log = client.get(f"/setup/users/{account.id}/audit").text
    for words in ("Created", "Customers added", "Customers removed", "Details changed", "Green Market"):
        assert words in log


def test_edit_without_customers_is_a_422_edit_row(app, client, seller):
    add(client, [seller["rose"]])
    account = account_of(app, "ada@example.com")
    response = client.hx_post(f"/setup/users/{account.id}", {f"u{account.id}-name": "Ada",
                                                              f"u{account.id}-username": "ada"})
    assert response.status_code == 422 and "Choose at least one customer." in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CustomerUser)) == 1


def test_disabling_ends_a_signed_in_buyers_access_at_once_and_leaves_other_companies(app, client, make, seller):
    other = make.company("Harvest")
    buyer = make.buyer(seller["rose"], make.customer(other, "Deli"))
    shopper = app.test_client().login_as(buyer, workspace_count=2)
    assert shopper.get("/shop/").status_code == 200
    account = account_of(app, buyer.email)
    response = client.hx_post(f"/setup/users/{account.id}/disable")
    assert response.status_code == 200 and "Disabled" in response.text and "Enable" in response.text
    gone = shopper.get("/shop/")
    assert gone.status_code == 303 and gone.location.endswith("/choose")
    choose = shopper.get("/choose").text
    assert "Harvest" in choose and "Rose Café" not in choose
    client.hx_post(f"/setup/users/{account.id}/enable")
    assert account_of(app, buyer.email).status == LinkStatus.ACTIVE


def test_list_searches_filters_and_has_an_empty_state(client, make, seller):
    assert "No e-commerce users yet" in client.get("/setup/users").text
    make.buyer(seller["rose"], email="rosa@example.com")
    make.buyer(seller["green"], email="gus@example.com", active=False)
    by_customer = client.hx_get("/setup/users?q=green").text
    assert "gus@example.com" in by_customer and "rosa@example.com" not in by_customer
    pending = client.hx_get("/setup/users?status=pending").text
    assert "gus@example.com" in pending and "rosa@example.com" not in pending
    assert "No e-commerce user matches" in client.hx_get("/setup/users?q=zzz").text


@pytest.mark.parametrize("role, status", [(Role.ADMIN, 200), (Role.SETUP, 200), (Role.SALES_MANAGER, 200)])
def test_roles_that_manage_ecommerce_users_open_every_screen(client, make, role, status):
    staff = make.staff(make.company(), role=role)
    client.login_as(staff)
    for path in ("/setup/users", "/setup/users/new", "/setup/users/audit", "/setup/users/import"):
        assert client.get(path).status_code == status, path


def test_buyers_never_open_setup_users(client, make):
    buyer = make.buyer(make.customer(make.company()))
    assert client.login_as(buyer).get("/setup/users").status_code == 403
    assert client.form_post("/setup/users/new", {"name": "x"}).status_code == 403


def test_picker_searches_this_companys_customers_only(client, make, seller):
    make.customer(make.company("Other"), "Rose Other")
    for n in range(30):
        make.customer(seller["company"], f"Rose {n:02d}")
    found = client.get("/setup/customers/search?q=rose&name=customers").text
    assert found.count('type="checkbox"') == 20 and "Rose Other" not in found and "first 20 matches" in found
    assert "No customer matches" in client.get("/setup/customers/search?q=zzz").text


def test_list_and_edit_pages_run_a_constant_number_of_queries(app, client, make, seller, queries):
    make.buyer(seller["rose"])
    account = make.ecommerce_user(seller["company"], seller["rose"])
    with queries:
        assert client.get("/setup/users").status_code == 200
    list_few = queries.count
    with queries:
        assert client.hx_get(f"/setup/users/{account.id}/edit").status_code == 200
    edit_few = queries.count
    customers = [make.customer(seller["company"]) for _ in range(15)]
    for n in range(30):
        make.buyer(*customers[n % 5:n % 5 + 3])
    make.link(make.buyer(seller["green"]), seller["rose"])
    with app.app_context():
        user_id = db.session.get(EcommerceUser, account.id).user_id
    for customer in customers[:10]:
        make.link(type("B", (), {"id": user_id})(), customer)
    with queries:
        client.get("/setup/users")
    # Session, a page of ids, their rows, their customers; with a next page, its capped count.
    assert list_few <= 4 and queries.count <= 5
    with queries:
        client.hx_get(f"/setup/users/{account.id}/edit")
    assert queries.count == edit_few <= 4


def test_profile_lists_the_companies_a_buyer_buys_from(client, make):
    bloom, harvest = make.company("Bloom"), make.company("Harvest")
    buyer = make.buyer(make.customer(bloom, "Rose Café"), make.customer(harvest, "Deli"))
    page = client.login_as(buyer, workspace_count=2).get("/account/profile").text
    assert "Bloom" in page and "Harvest" in page and "Rose Café" in page and "Change password" in page


def test_signing_in_to_a_shop_records_the_last_sign_in(app, client, make, seller):
    buyer = make.buyer(seller["rose"])
    client.form_post("/logout")
    client.form_post("/login", {"email": buyer.email, "password": PASSWORD})
    staff = app.test_client().login_as(seller["admin"])
    row = staff.get("/setup/users").text
    assert "Never" not in row


def test_audit_log_is_paged_and_only_this_companys(client, make, seller):
    add(client, [seller["rose"]])
    other = make.company("Other")
    other_client = client.application.test_client().login_as(make.staff(other))
    add(other_client, [make.customer(other)], email="zed@example.com", username="zed")
    log = client.get("/setup/users/audit").text
    assert "ada@example.com" in log and "zed@example.com" not in log


def test_each_line_of_the_company_audit_log_names_its_user_with_a_link_to_their_history(app, client, seller):
    add(client, [seller["rose"]])
    add(client, [seller["rose"]], name="Bo Buyer", email="bo@example.com", username="bo")
    ada, bo = account_of(app, "ada@example.com"), account_of(app, "bo@example.com")
    client.hx_post(f"/setup/users/{bo.id}", {f"u{bo.id}-name": "Bo Buyer", f"u{bo.id}-username": "bo",
                                             f"u{bo.id}-customers": [seller["rose"].id, seller["green"].id]})
    log = client.get("/setup/users/audit").text
    added = re.search(r"<tr>(?:(?!</tr>).)*Customers added(?:(?!</tr>).)*</tr>", log, re.S).group(0)
    assert f'href="/setup/users/{bo.id}/audit">Bo Buyer' in added and "Green Market" in added
    assert f'href="/setup/users/{ada.id}/audit">Ada Buyer' in log


def test_message_changes_go_to_the_audit_log(client, make, seller):
    message = make.message(seller["company"], title="Tulip week")
    client.form_post(f"/setup/settings/promotions-and-messages/{message.id}/copy")
    client.form_post(f"/setup/settings/promotions-and-messages/{message.id}/delete")
    log = client.get("/setup/users/audit").text
    assert "Message copied" in log and "Message deleted" in log and "Tulip week" in log


def test_import_counts_read_in_the_singular_and_the_plural(client, seller):
    from tests.integration.test_user_import import upload

    three = upload(client, "name,email,username,customer\n" + "".join(
        f"P{n},p{n}@example.com,p{n},Rose Café\n" for n in range(3)))
    page = client.get(three.location).text
    assert "3 new logins created" in page and "Import 3 rows" in page
    one = upload(client, "name,email,username,customer\nQ,q@example.com,q,Rose Café\n")
    page = client.get(one.location).text
    assert "1 new login created" in page and "Dry run of 1 row:" in page and "Import 1 row<" in page
