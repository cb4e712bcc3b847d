"""Logout ends that device's session for good; Forgot password gives nothing away, not even by timing."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from komet.extensions import db
from komet.mail import outbox
from komet.clock import utcnow
from komet.models import EcommerceUser, Email, EmailStatus, LoginSession
from tests.factories import PASSWORD


def test_a_session_cookie_copied_before_logout_stops_working(app, make):
    staff = make.staff(make.company())
    client = app.test_client()
    client.form_post("/login", {"email": staff.email, "password": PASSWORD, "remember": "y"})
    captured = {name: client.get_cookie(name).value for name in ("session", "remember_token")}
    assert client.get("/setup/settings").status_code == 200
    client.form_post("/logout")

    replay = app.test_client()
    replay.set_cookie("session", captured["session"])
    assert replay.get("/setup/settings").status_code == 303  # to the login page
    remembered = app.test_client()
    remembered.set_cookie("remember_token", captured["remember_token"])
    assert remembered.get("/setup/settings").status_code == 303


def _signed_in_client(app, who, remember=False):
    client = app.test_client()
    form = {"email": who.email, "password": PASSWORD, **({"remember": "y"} if remember else {})}
    assert client.form_post("/login", form).status_code == 303
    return client


def test_logout_ends_this_devices_session_and_leaves_the_others_signed_in(app, make):
    staff = make.staff(make.company())
    laptop, phone = _signed_in_client(app, staff), _signed_in_client(app, staff, remember=True)
    captured = {name: phone.get_cookie(name).value for name in ("session", "remember_token")}
    phone.form_post("/logout")
    assert phone.get("/setup/settings").status_code == 303
    for name, value in captured.items():
        replay = app.test_client()
        replay.set_cookie(name, value)
        assert replay.get("/setup/settings").status_code == 303, name
    assert laptop.get("/setup/settings").status_code == 200  # still signed in
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginSession)
                                 .where(LoginSession.user_id == staff.id)) == 1


def test_a_password_change_ends_every_other_session_and_keeps_this_one_in_its_workspace(app, make):
    staff = make.staff(make.company())
    laptop, phone = _signed_in_client(app, staff), _signed_in_client(app, staff)
    response = laptop.form_post("/account/password", {"current": PASSWORD, "password": "a brand new passphrase",
                                                      "confirm": "a brand new passphrase"})
    assert response.status_code == 303
    assert laptop.get("/setup/settings").status_code == 200
    assert phone.get("/setup/settings").status_code == 303


def test_a_remembered_device_stays_remembered_after_it_changes_the_password(app, make):
    staff = make.staff(make.company())
    laptop = _signed_in_client(app, staff, remember=True)
    old_remember = laptop.get_cookie("remember_token").value
    laptop.form_post("/account/password", {"current": PASSWORD, "password": "a brand new passphrase",
                                           "confirm": "a brand new passphrase"})
    remembered = app.test_client()  # the browser was closed: only the new remember cookie is left
    remembered.set_cookie("remember_token", laptop.get_cookie("remember_token").value)
    assert laptop.get_cookie("remember_token").value != old_remember
    assert remembered.get("/choose").status_code == 200  # signed in: the selection screen, not the login page


def test_a_session_idle_past_the_limit_is_forgotten_and_one_in_use_is_kept(app, make):
    from komet.accounts import sessions

    staff = make.staff(make.company())
    idle, busy = _signed_in_client(app, staff), _signed_in_client(app, staff)
    month = timedelta(seconds=app.config["LOGIN_SESSION_IDLE_SECONDS"])
    _change(app, LoginSession, {"last_seen_at": utcnow() - month + timedelta(hours=2)}, user_id=staff.id)
    assert busy.get("/setup/settings").status_code == 200  # refreshes its last-seen time
    with app.app_context():
        assert sessions.forget_idle(now=utcnow() + timedelta(hours=3)) == 1
    assert idle.get("/setup/settings").status_code == 303
    assert busy.get("/setup/settings").status_code == 200


def test_a_session_in_use_is_refreshed_at_most_once_an_hour(app, make, queries):
    buyer = make.buyer(make.customer(make.company()))
    client = _signed_in_client(app, buyer)
    client.get("/shop/messages")  # the session cookie settles
    _change(app, LoginSession, {"last_seen_at": utcnow() - timedelta(hours=2)}, user_id=buyer.id)
    counts = []
    for _ in range(2):
        with queries:
            client.get("/shop/messages")
        counts.append(queries.count)
    assert counts == [2, 1]  # the session check, plus one refresh the first time only
    with app.app_context():
        seen = db.session.scalar(select(LoginSession.last_seen_at).where(LoginSession.user_id == buyer.id))
    assert utcnow() - seen < timedelta(minutes=5)


def test_forgot_password_does_the_same_work_with_or_without_an_account(app, client, make, queries, smtp_sink):
    staff = make.staff(make.company())
    answers, counts = [], []
    for address in (staff.email, "nobody@example.com"):
        client.csrf_token()  # the session exists before counting, in both cases
        with queries:
            page = client.form_post("/forgot-password", {"email": address}).data.decode()
        counts.append(queries.count)
        # Less the response's nonce (in the CSP meta and in htmx's config)
        answers.append(re.sub(r'content="[^"]+">|"inlineStyleNonce": "[^"]*"', "", page.replace(address, "ADDRESS")))
    assert counts[0] == counts[1] and answers[0] == answers[1]
    with app.app_context():  # the worker's part, after counting (its queries are not the request's)
        for email_id in db.session.scalars(select(Email.id)).all():
            outbox.deliver(email_id)
        rows = {e.to_address: e.status for e in db.session.scalars(select(Email))}
    assert rows == {staff.email: EmailStatus.SENT, "nobody@example.com": EmailStatus.SKIPPED}
    assert [m["To"] for m in smtp_sink.messages()] == [staff.email]


def _change(app, model, values, **where):
    from sqlalchemy import update

    with app.app_context():
        db.session.execute(update(model).filter_by(**where).values(**values))
        db.session.commit()


def test_a_deactivated_login_is_logged_out_on_its_next_request(app, client, make):
    from komet.models import User

    staff = make.staff(make.company())
    client.login_as(staff)
    assert client.get("/setup/settings").status_code == 200
    _change(app, User, {"is_active": False}, id=staff.id)
    response = client.get("/setup/settings")
    assert response.status_code == 303 and "/login" in response.location


def test_a_disabled_customer_link_closes_the_shop_on_the_next_request(app, client, make):
    from komet.models import EcommerceUser, LinkStatus

    buyer = make.buyer(make.customer(make.company()))
    client.login_as(buyer)
    assert client.get("/shop/").status_code == 200
    _change(app, EcommerceUser, {"status": LinkStatus.DISABLED}, user_id=buyer.id)
    response = client.get("/shop/")
    assert response.status_code == 303 and response.location.endswith("/choose")


def test_a_removed_membership_closes_setup_on_the_next_request(app, client, make):
    from sqlalchemy import delete

    from komet.models import Membership

    staff = make.staff(make.company())
    client.login_as(staff)
    assert client.get("/setup/settings").status_code == 200
    with app.app_context():
        db.session.execute(delete(Membership).where(Membership.user_id == staff.id))
        db.session.commit()
    response = client.get("/setup/settings")
    assert response.status_code == 303 and response.location.endswith("/choose")


def test_the_session_check_is_one_query(client, make, queries):
    buyer = make.buyer(make.customer(make.company()))
    client.login_as(buyer)
    client.get("/shop/messages")  # the session cookie settles (CSRF, remember cookie)
    with queries:
        response = client.get("/shop/messages")  # not htmx: answered after the session check alone
    assert response.status_code == 302 and queries.count == 1


def test_pages_loaded_side_by_side_after_login_share_one_form_token(app, make):
    """The login's redirect still loading while another page opens: whichever cookie the browser
    keeps last, the forms of the other page still post (each used to make a secret of its own)."""
    company = make.company()
    staff = make.staff(company)
    buyer = make.buyer(make.customer(company, "Rose Café"))
    client = _signed_in_client(app, staff)
    after_login = client.get_cookie("session").value
    users_page = client.get("/setup/users").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', users_page).group(1)
    client.set_cookie("session", after_login)  # the other page set out with the same cookie,
    assert client.get("/setup/settings").status_code == 200  # and its answer came last
    with app.app_context():
        account_id = db.session.scalar(select(EcommerceUser.id).where(EcommerceUser.user_id == buyer.id))
    response = client.post(f"/setup/users/{account_id}/disable", data={"csrf_token": token},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Disabled" in response.text
