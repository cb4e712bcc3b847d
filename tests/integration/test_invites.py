"""Invites: the staff screen, the public invite page, Register Here and the approval queue."""
import re
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from komet.extensions import db
from komet.invites import links, requests
from komet.models import (AccessRequest, AuditEvent, Customer, CustomerUser, Email, EcommerceUser, EmailStatus,
                          LinkStatus, RequestStatus, Role)
from tests.factories import PASSWORD

FORM = {"business_name": "Rose Café", "contact_name": "Rosa Diaz", "email": "Rosa@Example.com",
        "phone": "555-0100", "city": "Miami", "country": "USA", "message": "Hello", "website": ""}


def _token(app, company):
    with app.app_context():
        return links.link_for(company.id).token


def _request(app, company, **fields):
    with app.app_context():
        return requests.submit(company.id, **{**FORM, **fields})[0].id


@pytest.mark.parametrize("role, status", [(Role.ADMIN, 200), (Role.SALES_MANAGER, 200), (Role.SETUP, 403)])
def test_only_admins_and_sales_managers_see_the_invite_screen(client, make, role, status):
    staff = make.staff(make.company(), role=role)
    response = client.login_as(staff).get("/setup/users/invite")
    assert response.status_code == status
    if status == 200:
        assert b"Invite Customers to Your E-Commerce" in response.data and b"Copy link" in response.data


def test_buyers_get_403_on_the_invite_screen(client, two_companies):
    assert client.login_as(two_companies["a_buyer"]).get("/setup/users/invite").status_code == 403


def test_the_link_stays_the_same_between_visits_and_is_not_the_company_id(app, client, make):
    company = make.company("Alpha Flowers")
    client.login_as(make.staff(company))
    first = re.search(rb'id="invite-url" type="text" value="([^"]+)"', client.get("/setup/users/invite").data)[1]
    second = re.search(rb'id="invite-url" type="text" value="([^"]+)"', client.get("/setup/users/invite").data)[1]
    assert first == second and first.startswith(b"http://komet.test/i/")
    token = first.rsplit(b"/", 1)[1].decode()
    assert len(token) >= 40 and "alpha" not in token.lower()


def test_qr_codes_download_as_print_sized_png_and_svg(client, make):
    client.login_as(make.staff(make.company()))
    png = client.get("/setup/users/invite/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert "attachment" in png.headers["Content-Disposition"]
    from PIL import Image
    import io
    image = Image.open(io.BytesIO(png.data))
    assert image.size[0] >= 1000 and image.size[0] == image.size[1]
    svg = client.get("/setup/users/invite/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<path" in svg.data


def test_regenerate_replaces_the_link_and_the_old_one_answers_404(app, client, make):
    company = make.company()
    admin = make.staff(company)
    old = _token(app, company)
    assert client.get(f"/i/{old}").status_code == 200
    response = client.login_as(admin).form_post("/setup/users/invite/regenerate")
    assert response.status_code == 303
    new = _token(app, company)
    assert new != old
    assert client.get(f"/i/{old}").status_code == 404
    assert client.get(f"/i/{new}").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.company_id == company.id)) \
            == "invite_regenerated"


@pytest.mark.parametrize("mangle", [lambda t: "nope", lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
                                    lambda t: t.split(".")[0], lambda t: "." + t.split(".")[1], lambda t: "x" * 300])
def test_unknown_or_tampered_tokens_get_a_friendly_404(app, client, make, mangle):
    token = _token(app, make.company("Alpha Flowers"))
    response = client.get(f"/i/{mangle(token)}")
    assert response.status_code == 404
    assert b"This invitation link doesn" in response.data and b"Alpha Flowers" not in response.data


def test_a_wrong_secret_costs_the_same_work_as_the_right_one(app, client, make, queries, monkeypatch):
    """No wall clock: the same query and one constant-time compare of an equally long secret,
    whether the lookup is unknown, the secret wrong, or the token right."""
    token = _token(app, make.company())
    lookup, secret = token.split(".")
    compared = []
    real = links.hmac.compare_digest
    counted = SimpleNamespace(compare_digest=lambda a, b: compared.append(len(a)) or real(a, b))
    monkeypatch.setattr(links, "hmac", counted)  # only links' compares, not the session cookie's
    work = []
    for tried in (f"{'Z' * len(lookup)}.{secret}", f"{lookup}.{'Z' * len(secret)}", token):
        with queries:
            client.get(f"/i/{tried}")
        work.append((queries.count, queries.statements[0]))
    assert work[0] == work[1] == work[2]
    assert compared == [len(secret)] * 3


def test_the_invite_page_is_one_indexed_lookup(app, client, make, queries):
    company = make.company("Alpha Flowers")
    token = _token(app, company)
    with queries:
        response = client.get(f"/i/{token}")
    assert response.status_code == 200
    assert b"Alpha Flowers" in response.data and b"Register Here" in response.data
    assert b'class="topbar' not in response.data  # no platform header
    assert queries.count == 1, queries.statements
    assert "invite_links.lookup = " in queries.statements[0]


def test_register_here_stores_the_request_and_queues_one_email_each(app, client, make):
    company = make.company("Alpha Flowers")
    admin, sales = make.staff(company), make.staff(company, role=Role.SALES_MANAGER)
    make.staff(company, role=Role.SETUP)  # not told: Setup staff do not decide on requests
    make.staff(make.company())  # another seller's Admin: never told
    token = _token(app, company)
    response = client.form_post(f"/i/{token}/register", data=FORM)
    assert response.status_code == 200 and b"Thank you" in response.data
    with app.app_context():
        stored = db.session.scalars(select(AccessRequest)).all()
        assert [(r.company_id, r.email, r.status) for r in stored] == [(company.id, "rosa@example.com",
                                                                         RequestStatus.PENDING)]
        emails = db.session.execute(select(Email.kind, Email.to_address)).all()
    assert sorted(emails) == sorted([("access_request_received", "rosa@example.com"),
                                     ("access_request_staff", admin.email), ("access_request_staff", sales.email)])


def test_register_here_post_runs_a_constant_number_of_queries(app, client, make, queries):
    few, many = make.company(), make.company()
    make.staff(few)
    for _ in range(6):
        make.staff(many, role=Role.SALES_MANAGER)
    counts = []
    for company in (few, many):
        token = _token(app, company)
        client.csrf_token()
        with queries:
            assert client.form_post(f"/i/{token}/register", data=FORM).status_code == 200
        counts.append(queries.count)
    assert counts[0] == counts[1], counts


def test_the_same_email_pending_is_told_and_not_stored_twice(app, client, make):
    company = make.company()
    token = _token(app, company)
    client.form_post(f"/i/{token}/register", data=FORM)
    response = client.form_post(f"/i/{token}/register", data={**FORM, "email": " rosa@EXAMPLE.com"})
    assert response.status_code == 200 and b"We already have your request" in response.data
    with app.app_context():
        assert len(db.session.scalars(select(AccessRequest)).all()) == 1
        assert len(db.session.scalars(select(Email)).all()) == 1  # the first confirmation only


def test_the_database_holds_one_pending_request_per_email(app, make):
    from sqlalchemy.exc import IntegrityError
    company = make.company()
    _request(app, company)
    with app.app_context():
        twin = dict(company_id=company.id, business_name="Twin", contact_name="T", email="rosa@example.com")
        db.session.add(AccessRequest(**twin, status=RequestStatus.PENDING))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(AccessRequest(**twin, status=RequestStatus.REJECTED))  # decided ones may repeat
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AccessRequest)) == 2


def test_two_submits_of_one_email_at_the_same_moment_store_one_request(app, make, monkeypatch):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("needs two real connections writing at once (PostgreSQL)")
    company = make.company()
    make.staff(company)
    token = _token(app, company)
    # Both requests have found nothing pending before either inserts: only the index stops the second.
    barrier, checked = threading.Barrier(2, timeout=20), threading.local()
    real = requests._pending_with

    def check_then_wait(*args):
        found = real(*args)
        if not getattr(checked, "once", False):
            checked.once = True
            barrier.wait()
        return found

    monkeypatch.setattr(requests, "_pending_with", check_then_wait)
    answers = []

    def send(address):
        response = app.test_client().form_post(f"/i/{token}/register", data=FORM,
                                               environ_base={"REMOTE_ADDR": address})
        answers.append((response.status_code, b"We already have your request" in response.data))

    threads = [threading.Thread(target=send, args=(f"10.0.0.{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == [(200, False), (200, True)]  # one thank-you, one "already received"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccessRequest)) == 1
        kinds = db.session.scalars(select(Email.kind)).all()
    assert sorted(kinds) == ["access_request_received", "access_request_staff"]  # told once, not twice


def test_invalid_register_form_shows_field_errors_with_422(app, client, make):
    token = _token(app, make.company())
    response = client.form_post(f"/i/{token}/register", data={**FORM, "email": "not-an-email", "business_name": ""})
    assert response.status_code == 422
    assert b"Enter a valid email address" in response.data and b"Enter your business name." in response.data
    with app.app_context():
        assert db.session.scalars(select(AccessRequest)).all() == []


def test_register_without_csrf_is_refused(app, client, make):
    token = _token(app, make.company())
    assert client.post(f"/i/{token}/register", data=FORM).status_code == 400


def test_the_honeypot_thanks_a_bot_and_stores_nothing(app, client, make):
    token = _token(app, make.company())
    response = client.form_post(f"/i/{token}/register", data={**FORM, "website": "http://spam.example"})
    assert response.status_code == 200 and b"Thank you" in response.data
    with app.app_context():
        assert db.session.scalars(select(AccessRequest)).all() == []
        assert db.session.scalars(select(Email)).all() == []


def test_register_here_is_rate_limited_per_address_with_a_clear_message(app, client, make):
    token = _token(app, make.company("Alpha Flowers"))
    statuses = [client.form_post(f"/i/{token}/register", data={**FORM, "email": f"p{i}@example.com"}).status_code
                for i in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    response = client.form_post(f"/i/{token}/register", data={**FORM, "email": "late@example.com"})
    assert response.status_code == 429 and b"Too many requests" in response.data
    with app.app_context():
        assert len(db.session.scalars(select(AccessRequest)).all()) == 5


def test_register_here_is_rate_limited_per_link_from_any_address(app, client, make):
    app.config["INVITE_LINK_RATE_LIMIT"] = "3 per hour"
    try:
        token = _token(app, make.company())
        statuses = [client.form_post(f"/i/{token}/register", data={**FORM, "email": f"p{i}@example.com"},
                                     environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code for i in range(4)]
    finally:
        app.config["INVITE_LINK_RATE_LIMIT"] = "100 per hour"
    assert statuses == [200, 200, 200, 429]


def test_a_paused_link_takes_no_requests_but_buyers_still_log_in(app, client, make):
    company = make.company("Alpha Flowers")
    admin = make.staff(company)
    buyer = make.buyer(make.customer(company))
    token = _token(app, company)
    client.login_as(admin).form_post("/setup/users/invite/pause")
    visitor = app.test_client()
    assert b"not accepting new requests" in visitor.get(f"/i/{token}").data
    assert visitor.form_post(f"/i/{token}/register", data=FORM).status_code == 409
    response = visitor.form_post(f"/i/{token}/login", data={"email": buyer.email, "password": PASSWORD})
    assert response.status_code == 303 and response.location.endswith("/shop/")


def test_a_buyer_of_several_sellers_logs_in_straight_into_this_shop(app, client, make):
    alpha, beta = make.company("Alpha Flowers"), make.company("Beta Produce")
    buyer = make.buyer(make.customer(beta, "Beta Customer"))
    make.link(buyer, make.customer(alpha, "Alpha Customer"))
    token = _token(app, alpha)
    response = client.form_post(f"/i/{token}/login", data={"email": buyer.email, "password": PASSWORD})
    assert response.status_code == 303 and response.location.endswith("/shop/")
    shop = client.get("/shop/", follow_redirects=True)
    assert b"Alpha Flowers" in shop.data and b"Alpha Customer" in shop.data


def test_an_invite_login_is_a_focused_shop_that_signs_out_to_the_invite_page(app, client, make):
    alpha, beta = make.company("Alpha Flowers"), make.company("Beta Produce")
    buyer = make.buyer(make.customer(beta, "Beta Customer"))
    make.link(buyer, make.customer(alpha, "Alpha Customer"))
    token = _token(app, alpha)
    client.form_post(f"/i/{token}/login", data={"email": buyer.email, "password": PASSWORD})
    shop = client.get("/shop/").data.decode()
    assert 'class="focused-header' in shop and 'class="topbar' not in shop  # no platform header
    assert "Alpha Flowers" in shop and 'id="shop-messages"' in shop and "Sign out" in shop
    assert "Change Company" not in shop and "Beta Produce" not in shop
    with app.app_context():  # staff regenerate the link while the buyer shops
        links.regenerate(links.link_for(alpha.id))
    fresh = _token(app, alpha)
    response = client.form_post("/logout")
    assert response.status_code == 303 and response.location.endswith(f"/i/{fresh}")
    page = client.get(response.location).data.decode()
    assert "You have logged out." in page and "Welcome to Alpha Flowers" in page


def test_a_normal_login_after_an_invite_login_shows_the_platform_header(app, client, make):
    company = make.company("Alpha Flowers")
    buyer = make.buyer(make.customer(company))
    client.form_post(f"/i/{_token(app, company)}/login", data={"email": buyer.email, "password": PASSWORD})
    assert b"focused-header" in client.get("/shop/").data
    client.form_post("/login", data={"email": buyer.email, "password": PASSWORD})
    shop = client.get("/shop/").data.decode()
    assert 'class="topbar' in shop and "focused-header" not in shop and "Log out" in shop
    assert client.form_post("/logout").location.endswith("/login")


def test_a_login_without_an_active_link_here_is_told_and_not_logged_in(app, client, make):
    alpha, beta = make.company("Alpha Flowers"), make.company("Beta Produce")
    outsider = make.buyer(make.customer(beta, "Beta Customer"))
    pending = make.ecommerce_user(alpha, status=LinkStatus.PENDING)
    token = _token(app, alpha)
    for who in (outsider, pending):
        response = client.form_post(f"/i/{token}/login", data={"email": who.email, "password": PASSWORD})
        assert response.status_code == 403
        assert b"not for this seller" in response.data and b"Register Here" in response.data
        assert client.get("/shop/").status_code in (302, 303)  # not logged in anywhere


def test_failed_logins_on_invite_pages_and_the_login_page_count_together_per_email(app, client, make, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_EMAIL_RATE_LIMIT", "30 per hour")  # the default is 500: fewer tries
    alpha, beta = make.company(), make.company()
    buyer = make.buyer(make.customer(alpha))
    doors = [f"/i/{_token(app, alpha)}/login", f"/i/{_token(app, beta)}/login", "/login"]
    for n in range(30):  # a guess spread over three doors and many addresses
        response = client.form_post(doors[n % 3], data={"email": buyer.email, "password": "guess"},
                                    environ_base={"REMOTE_ADDR": f"10.9.{n // 200}.{n % 200 + 1}"})
        assert response.status_code == 422
    for door in doors:
        assert client.form_post(door, data={"email": buyer.email, "password": "guess"},
                                environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429


def test_wrong_password_on_the_invite_page_is_422(app, client, make):
    company = make.company()
    buyer = make.buyer(make.customer(company))
    response = client.form_post(f"/i/{_token(app, company)}/login", data={"email": buyer.email, "password": "x"})
    assert response.status_code == 422 and b"Email or password is incorrect." in response.data


def test_queue_tabs_count_and_warn(app, client, make):
    company = make.company()
    admin = make.staff(company)
    make.ecommerce_user(company, email="linked@example.com")
    _request(app, company, email="linked@example.com", business_name="Linked Shop")
    first = _request(app, company, email="asked@example.com", business_name="First Ask")
    client.login_as(admin).form_post(f"/setup/users/invite/requests/{first}/reject")
    _request(app, company, email="asked@example.com", business_name="Second Ask")  # asked again
    page = client.get("/setup/users/invite/requests?status=pending").data.decode()
    assert "Pending (2)" in page and "Approved (0)" in page and "Rejected (1)" in page
    assert "already has a login linked to your company" in page
    assert page.index("Second Ask") < page.index("Linked Shop")  # newest first
    rejected = client.get("/setup/users/invite/requests?status=rejected").data.decode()
    assert "First Ask" in rejected and "Another request with this email is already pending" in rejected


def test_approve_into_a_new_customer_creates_the_buyer_and_emails_activation(app, client, make):
    company = make.company()
    admin = make.staff(company)
    request_id = _request(app, company)
    client.login_as(admin)
    form = client.get(f"/setup/users/invite/requests/{request_id}/approve").data.decode()
    assert 'value="Rose Café"' in form  # the customer's name prefilled from the business name
    response = client.form_post(f"/setup/users/invite/requests/{request_id}/approve",
                                data={"choice": "new", "customer_name": "Rose Café"})
    assert response.status_code == 303
    with app.app_context():
        access = db.session.get(AccessRequest, request_id)
        assert access.status == RequestStatus.APPROVED and access.decided_by_id == admin.id
        customer = db.session.scalar(select(Customer).where(Customer.name == "Rose Café"))
        account = db.session.scalar(select(EcommerceUser).where(EcommerceUser.company_id == company.id))
        assert account.status == LinkStatus.PENDING and account.username == "rosa@example.com"
        assert db.session.scalar(select(CustomerUser.customer_id).where(CustomerUser.user_id == account.user_id)) \
            == customer.id
        assert "activation" in db.session.scalars(select(Email.kind)).all()
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "request_approved" in actions and "user_created" in actions


def test_approve_linking_an_existing_login_sends_confirm_link(app, client, make):
    company, other = make.company(), make.company()
    make.buyer(make.customer(other), email="rosa@example.com")
    customer = make.customer(company, "Existing Café")
    request_id = _request(app, company)
    client.login_as(make.staff(company, role=Role.SALES_MANAGER))
    response = client.form_post(f"/setup/users/invite/requests/{request_id}/approve",
                                data={"choice": "existing", "customers": str(customer.id)})
    assert response.status_code == 303
    with app.app_context():
        assert "link_confirm" in db.session.scalars(select(Email.kind)).all()
        assert db.session.get(AccessRequest, request_id).customer_id == customer.id


def test_approve_requires_a_customer_name_or_a_chosen_customer(app, client, make):
    company = make.company()
    request_id = _request(app, company)
    client.login_as(make.staff(company))
    url = f"/setup/users/invite/requests/{request_id}/approve"
    assert client.form_post(url, data={"choice": "new", "customer_name": ""}).status_code == 422
    response = client.form_post(url, data={"choice": "existing"})
    assert response.status_code == 422 and b"Find and tick one existing customer." in response.data


def test_approving_with_another_companys_customer_is_404(app, client, make, two_companies):
    request_id = _request(app, two_companies["a"])
    client.login_as(two_companies["a_admin"])
    response = client.form_post(f"/setup/users/invite/requests/{request_id}/approve",
                                data={"choice": "existing", "customers": str(two_companies["b_customer"].id)})
    assert response.status_code == 404


def test_approve_refused_when_the_email_is_already_a_user_here(app, client, make):
    company = make.company()
    make.ecommerce_user(company, email="rosa@example.com")
    request_id = _request(app, company)
    client.login_as(make.staff(company))
    response = client.form_post(f"/setup/users/invite/requests/{request_id}/approve",
                                data={"choice": "new", "customer_name": "Rose Café"})
    assert response.status_code == 422 and b"already an e-commerce user" in response.data
    with app.app_context():
        assert db.session.get(AccessRequest, request_id).status == RequestStatus.PENDING
        assert db.session.scalar(select(Customer).where(Customer.name == "Rose Café")) is None


@pytest.mark.parametrize("include, expected", [(True, "Their note: Outside our area"), (False, None)])
def test_reject_emails_politely_with_the_reason_only_if_ticked(app, client, make, include, expected):
    company = make.company()
    request_id = _request(app, company)
    client.login_as(make.staff(company))
    data = {"reason": "Outside our area", **({"include_reason": "y"} if include else {})}
    assert client.form_post(f"/setup/users/invite/requests/{request_id}/reject", data=data).status_code == 303
    with app.app_context():
        from komet.mail.kinds import render_message
        email = db.session.scalar(select(Email).where(Email.kind == "access_request_rejected"))
        body = render_message(email).body
        access = db.session.get(AccessRequest, request_id)
        assert access.status == RequestStatus.REJECTED and access.reason == "Outside our area"
        assert "request_rejected" in db.session.scalars(select(AuditEvent.action)).all()
    assert "not able to accept" in body
    assert (expected in body) if expected else ("Outside our area" not in body)


def test_a_decided_request_cannot_be_decided_again(app, client, make):
    company = make.company()
    request_id = _request(app, company)
    client.login_as(make.staff(company))
    client.form_post(f"/setup/users/invite/requests/{request_id}/reject", data={})
    response = client.form_post(f"/setup/users/invite/requests/{request_id}/approve",
                                data={"choice": "new", "customer_name": "X"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(AccessRequest, request_id).status == RequestStatus.REJECTED


def test_internal_notes_are_saved_by_htmx(app, client, make):
    company = make.company()
    request_id = _request(app, company)
    client.login_as(make.staff(company))
    response = client.hx_post(f"/setup/users/invite/requests/{request_id}/notes",
                              data={f"r{request_id}-internal_notes": "Called them"})
    assert response.status_code == 200 and b"Saved." in response.data
    with app.app_context():
        assert db.session.get(AccessRequest, request_id).internal_notes == "Called them"


def test_staff_email_names_the_request_and_links_to_the_queue(app, make):
    company = make.company("Alpha Flowers")
    make.staff(company)
    _request(app, company)
    with app.app_context():
        from komet.mail.kinds import render_message
        email = db.session.scalar(select(Email).where(Email.kind == "access_request_staff"))
        message = render_message(email)
    assert "Rose Café" in message.subject
    assert "http://komet.test/setup/users/invite/requests?status=pending" in message.body


def test_the_second_of_two_decisions_finds_the_request_already_decided(app, make):
    company = make.company()
    request_id = _request(app, company)
    with app.app_context():
        stale = db.session.get(AccessRequest, request_id)
        with app.app_context():  # a colleague, in another session, rejects first
            requests.reject(db.session.get(AccessRequest, request_id))
        with pytest.raises(requests.AlreadyDecided):
            requests.approve(stale, new_customer_name="Rose Café")
        assert db.session.scalar(select(Customer).where(Customer.name == "Rose Café")) is None
        assert db.session.get(AccessRequest, request_id).status == RequestStatus.REJECTED


def test_submit_normalises_the_email_and_strips_fields(app, make):
    company = make.company()
    with app.app_context():
        access, created = requests.submit(company.id, **{**FORM, "business_name": "  Rose Café ",
                                                         "email": " ROSA@example.com "})
        assert created and access.business_name == "Rose Café" and access.email == "rosa@example.com"
        again, created_again = requests.submit(company.id, **FORM)
        assert again.id == access.id and not created_again


def test_the_queue_shows_each_email_state_and_retries_a_failed_one(app, client, make):
    from komet.models import EmailStatus
    company = make.company()
    admin = make.staff(company)
    request_id = _request(app, company)
    with app.app_context():
        failed = db.session.scalar(select(Email).where(Email.kind == "access_request_staff"))
        failed.status = EmailStatus.FAILED
        db.session.commit()
        failed_id = failed.id
    page = " ".join(client.login_as(admin).get("/setup/users/invite/requests").data.decode().split())
    assert "Confirmation to rosa@example.com: <strong>Queued</strong>" in page
    assert f"Staff notice to {admin.email}: <strong>Failed</strong> <form" in page
    response = client.form_post(f"/setup/users/invite/requests/{request_id}/emails/{failed_id}/retry")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Email, failed_id).status == EmailStatus.PENDING
    other = _request(app, company, email="other@example.com")
    assert client.form_post(f"/setup/users/invite/requests/{other}/emails/{failed_id}/retry").status_code == 404


def _card(page, request_id):
    """The text of one request's card, whitespace collapsed."""
    card = re.search(rf'<article class="card request" id="request-{request_id}".*?</article>', page, re.S)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", card).split())


def test_an_approved_request_shows_its_outcome_and_its_activation_email_not_an_alarm(app, client, make):
    company = make.company(timezone="America/Los_Angeles")
    sales = make.staff(company, role=Role.SALES_MANAGER)
    request_id = _request(app, company)
    client.login_as(sales).form_post(f"/setup/users/invite/requests/{request_id}/approve",
                                     data={"choice": "new", "customer_name": "Rose Café"})
    card = _card(client.get("/setup/users/invite/requests?status=approved").data.decode(), request_id)
    assert "already has a login linked" not in card
    assert f"Approved into customer Rose Café by {sales.name} on " in card
    assert re.search(r"on \w{3} \d{1,2}, \d{4} \d{1,2}:\d\d [AP]M P[SD]T\.", card), card  # the company's zone
    assert "Activation to rosa@example.com: Queued" in card  # a Sales Manager cannot open Setup > Emails


def test_a_rejected_request_shows_who_rejected_it_when_and_the_rejection_email(app, client, make):
    company = make.company()
    admin = make.staff(company)
    request_id = _request(app, company)
    client.login_as(admin).form_post(f"/setup/users/invite/requests/{request_id}/reject",
                                     data={"reason": "Outside our area"})
    with app.app_context():
        rejection = db.session.scalar(select(Email).where(Email.kind == "access_request_rejected"))
        rejection.status = EmailStatus.FAILED
        db.session.commit()
    card = _card(client.get("/setup/users/invite/requests?status=rejected").data.decode(), request_id)
    assert f"Rejected by {admin.name} on " in card and re.search(r"E[SD]T\.", card)
    assert "Reason Outside our area" in card
    assert "Rejection to rosa@example.com: Failed Retry" in card


def test_a_failed_activation_email_can_be_retried_from_the_queue(app, client, make):
    company = make.company()
    request_id = _request(app, company)
    client.login_as(make.staff(company, role=Role.SALES_MANAGER)).form_post(
        f"/setup/users/invite/requests/{request_id}/approve", data={"choice": "new", "customer_name": "Rose Café"})
    with app.app_context():
        activation = db.session.scalar(select(Email).where(Email.kind == "activation"))
        activation.status = EmailStatus.FAILED
        db.session.commit()
        activation_id = activation.id
    response = client.form_post(f"/setup/users/invite/requests/{request_id}/emails/{activation_id}/retry")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Email, activation_id).status == EmailStatus.PENDING


DECIDE = "/setup/users/invite/requests/decide"


def _status(app, request_id):
    with app.app_context():
        return db.session.get(AccessRequest, request_id).status


def test_the_pending_tab_offers_approve_and_reject_selected_and_the_others_do_not(app, client, make):
    company = make.company()
    request_id = _request(app, company)
    client.login_as(make.staff(company, role=Role.SALES_MANAGER))
    page = client.get("/setup/users/invite/requests?status=pending").data.decode()
    assert "Approve selected" in page and "Reject selected" in page and "Select all on this page" in page
    assert f'name="selected" value="{request_id}" form="bulk-form"' in page
    assert f'name="page_ids" value="{request_id}"' in page
    assert "Approve selected" not in client.get("/setup/users/invite/requests?status=approved").data.decode()


def test_approve_selected_makes_new_customers_and_skips_what_it_cannot_approve_with_the_reason(app, client, make):
    company, elsewhere = make.company(), make.company()
    admin, colleague = make.staff(company), make.staff(company)
    make.buyer(make.customer(elsewhere), email="known@example.com")  # a Komet login of another seller
    make.ecommerce_user(company, email="here@example.com")  # already this company's user
    fresh = _request(app, company, business_name="Fresh Florist", email="fresh@example.com")
    known = _request(app, company, business_name="Known Shop", email="known@example.com")
    here = _request(app, company, business_name="Here Again", email="here@example.com")
    taken = _request(app, company, business_name="Taken Café", email="taken@example.com")
    client.login_as(colleague).form_post(f"/setup/users/invite/requests/{taken}/reject")  # decided meanwhile
    response = client.login_as(admin).form_post(DECIDE, data={
        "action": "approve", "selected": [fresh, known, here, taken]})
    assert response.status_code == 200
    summary = " ".join(re.sub(r"<[^>]+>", " ", response.data.decode()).split())
    assert "Approved 1 of 4 requests" in summary and "3 skipped" in summary
    assert "Fresh Florist fresh@example.com Approved into new customer Fresh Florist." in summary
    assert "Known Shop known@example.com Skipped: This email already has a Komet login" in summary
    assert "Here Again here@example.com Skipped: This person is already an e-commerce user" in summary
    assert f"Taken Café taken@example.com Skipped: already rejected by {colleague.name}." in summary
    assert [_status(app, i) for i in (fresh, known, here, taken)] == [
        RequestStatus.APPROVED, RequestStatus.PENDING, RequestStatus.PENDING, RequestStatus.REJECTED]
    with app.app_context():  # skipped ones left nothing behind: no customer, no login, no link
        names = set(db.session.scalars(select(Customer.name).where(Customer.company_id == company.id)))
        assert "Fresh Florist" in names and not names & {"Known Shop", "Here Again", "Taken Café"}
        assert db.session.scalar(select(func.count()).select_from(EcommerceUser)
                                 .where(EcommerceUser.company_id == company.id)) == 2  # here@ and fresh@
        assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "request_approved")).all() \
            == ["request_approved"]
        activation = db.session.scalar(select(Email).where(Email.kind == "activation"))
        assert activation.to_address == "fresh@example.com" and activation.context["request_id"] == fresh


def test_reject_selected_sends_one_reason_only_if_ticked_and_audits_each(app, client, make):
    company = make.company()
    first = _request(app, company, business_name="First", email="first@example.com")
    second = _request(app, company, business_name="Second", email="second@example.com")
    client.login_as(make.staff(company))
    response = client.form_post(DECIDE, data={"action": "reject", "selected": [first, second],
                                              "reason": "Outside our area", "include_reason": "y"})
    assert response.status_code == 200 and b"Rejected 2 of 2 requests" in response.data
    with app.app_context():
        from komet.mail.kinds import render_message
        emails = db.session.scalars(select(Email).where(Email.kind == "access_request_rejected")
                                    .order_by(Email.to_address)).all()
        assert [e.to_address for e in emails] == ["first@example.com", "second@example.com"]
        assert all("Their note: Outside our area" in render_message(e).body for e in emails)
        details = db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "request_rejected")
                                     .order_by(AuditEvent.id)).all()
    assert details == ["First (first@example.com): Outside our area", "Second (second@example.com): Outside our area"]
    third = _request(app, company, business_name="Third", email="third@example.com")
    client.form_post(DECIDE, data={"action": "reject", "selected": [third], "reason": "Internal only"})
    with app.app_context():
        email = db.session.scalar(select(Email).where(Email.to_address == "third@example.com",
                                                      Email.kind == "access_request_rejected"))
        assert "Internal only" not in render_message(email).body


def test_select_all_on_this_page_decides_the_pages_requests_without_javascript(app, client, make):
    company = make.company()
    ids = [_request(app, company, business_name=f"Shop {n}", email=f"shop{n}@example.com") for n in range(3)]
    client.login_as(make.staff(company))
    response = client.form_post(DECIDE, data={"action": "reject", "select_all": "y", "page_ids": ids})
    assert response.status_code == 200 and b"Rejected 3 of 3 requests" in response.data
    assert {_status(app, i) for i in ids} == {RequestStatus.REJECTED}


def test_nothing_ticked_is_422_with_the_message_next_to_the_buttons(app, client, make):
    company = make.company()
    request_id = _request(app, company)
    client.login_as(make.staff(company))
    response = client.form_post(DECIDE, data={"action": "approve", "page_ids": [request_id]})
    assert response.status_code == 422
    assert b"Tick the requests to decide, or Select all on this page." in response.data
    assert b'id="bulk-form"' in response.data and _status(app, request_id) == RequestStatus.PENDING


def test_another_companys_request_in_a_selection_is_404_and_nothing_is_decided(app, client, make, two_companies):
    ours = _request(app, two_companies["a"], email="ours@example.com")
    theirs = _request(app, two_companies["b"], email="theirs@example.com")
    client.login_as(two_companies["a_admin"])
    assert client.form_post(DECIDE, data={"action": "reject", "selected": [ours, theirs]}).status_code == 404
    assert _status(app, ours) == _status(app, theirs) == RequestStatus.PENDING
    assert client.form_post(DECIDE, data={"action": "reject", "selected": [ours]}).status_code == 200
    assert (_status(app, ours), _status(app, theirs)) == (RequestStatus.REJECTED, RequestStatus.PENDING)


def test_two_staff_deciding_overlapping_selections_at_once_decide_each_request_once(app, make):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("needs two real connections writing at once (PostgreSQL)")
    from komet.invites import bulk
    company = make.company()
    approver, rejecter = make.staff(company), make.staff(company)
    # Names that resemble no other: Approve selected skips a name resembling a customer it just made.
    names = ["Aster", "Begonia", "Camellia", "Dahlia", "Freesia", "Gardenia", "Hibiscus", "Iris"]
    ids = [_request(app, company, business_name=name, email=f"shop{n}@example.com") for n, name in enumerate(names)]
    # Both load their selection (all Pending) before either decides anything.
    barrier, results = threading.Barrier(2, timeout=20), {}

    def decide(name, selection, how):
        with app.app_context():
            chosen = bulk.selected(company.id, selection)
            barrier.wait()
            results[name] = how(chosen)
            db.session.remove()

    threads = [threading.Thread(target=decide, args=("approve", ids[:6], lambda c: bulk.approve_many(
                   c, actor_id=approver.id))),
               threading.Thread(target=decide, args=("reject", ids[2:], lambda c: bulk.reject_many(
                   c, reason="Full", actor_id=rejecter.id)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert set(results) == {"approve", "reject"}
    approved = {r.email for r in results["approve"] if r.decided}
    rejected = {r.email for r in results["reject"] if r.decided}
    assert not approved & rejected and approved | rejected == {f"shop{n}@example.com" for n in range(8)}
    with app.app_context():
        events = db.session.execute(select(AuditEvent.action, func.count()).where(
            AuditEvent.action.in_(["request_approved", "request_rejected"])).group_by(AuditEvent.action)).all()
        assert dict(events) == {"request_approved": len(approved), "request_rejected": len(rejected)}
        assert db.session.scalar(select(func.count()).select_from(Customer)
                                 .where(Customer.company_id == company.id)) == len(approved)
        rows = db.session.scalars(select(AccessRequest).where(AccessRequest.id.in_(ids))).all()
        assert {r.email for r in rows if r.status == RequestStatus.APPROVED} == approved
        assert {r.email for r in rows if r.status == RequestStatus.REJECTED} == rejected
        assert db.session.scalar(select(func.count()).select_from(Email).where(
            Email.kind == "access_request_rejected")) == len(rejected)


def test_enter_in_a_checkbox_without_javascript_keeps_the_ticks_and_decides_nothing(app, client, make):
    company = make.company()
    request_id = _request(app, company)
    client.login_as(make.staff(company))
    # Enter in a checkbox clicks the form's first submit button: the hidden "select" one.
    response = client.form_post(DECIDE, data={"action": "select", "selected": [request_id], "page_ids": [request_id]})
    assert response.status_code == 200
    assert f'name="selected" value="{request_id}" form="bulk-form" checked' in response.data.decode()
    assert _status(app, request_id) == RequestStatus.PENDING
