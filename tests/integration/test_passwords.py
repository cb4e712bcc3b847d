"""Forgot password, reset by emailed link, change password: only the owner changes a login."""
import re

from sqlalchemy import select

from komet.extensions import db
from komet.invites import links
from komet.models import Email, EmailStatus, LoginSession, User
from tests.factories import ID_ARGUMENTS, PASSWORD
from tests.mailsink import text_of

NEW_PASSWORD = "a brand new passphrase"


def _reset_link(smtp_sink, address):
    [message] = smtp_sink.to(address)
    assert message["Subject"] == "Reset your Komet password"
    return re.search(r"http://komet\.test(/reset-password/\S+)", text_of(message)).group(1)


def _ask_for_reset(client, worker, email):
    response = client.form_post("/forgot-password", {"email": email})
    worker()
    return response


def test_forgot_password_emails_a_link_that_sets_a_new_password(client, make, worker, smtp_sink):
    admin = make.staff(make.company())
    response = _ask_for_reset(client, worker, admin.email.upper())
    assert response.status_code == 200 and b"Check your email" in response.data
    link = _reset_link(smtp_sink, admin.email)
    form = client.get(link)
    assert form.status_code == 200 and admin.email.encode() in form.data
    done = client.form_post(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.location.endswith("/login")
    assert client.form_post("/login", {"email": admin.email, "password": NEW_PASSWORD}).status_code == 303
    worker()
    assert [m["Subject"] for m in smtp_sink.to(admin.email)][-1] == "Your Komet password was changed"


def test_reset_link_works_once(client, make, worker, smtp_sink):
    admin = make.staff(make.company())
    _ask_for_reset(client, worker, admin.email)
    link = _reset_link(smtp_sink, admin.email)
    client.form_post(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = client.get(link)
    assert again.status_code == 410 and b"already been used" in again.data


def test_reset_link_dies_when_the_password_changes_another_way(app, client, make, worker, smtp_sink):
    admin = make.staff(make.company())
    _ask_for_reset(client, worker, admin.email)
    link = _reset_link(smtp_sink, admin.email)
    with app.app_context():
        db.session.get(User, admin.id).set_password("changed elsewhere 123")
        db.session.commit()
    assert client.get(link).status_code == 410


def test_expired_reset_link_says_so(app, client, make, worker, smtp_sink):
    admin = make.staff(make.company())
    _ask_for_reset(client, worker, admin.email)
    link = _reset_link(smtp_sink, admin.email)
    app.config["PASSWORD_RESET_MAX_AGE"], max_age = -1, app.config["PASSWORD_RESET_MAX_AGE"]
    try:
        response = client.get(link)
    finally:
        app.config["PASSWORD_RESET_MAX_AGE"] = max_age
    assert response.status_code == 410 and b"It has expired." in response.data


def test_tampered_reset_link_is_refused(client):
    response = client.get("/reset-password/not-a-token")
    assert response.status_code == 410 and b"not a valid password reset link" in response.data


def test_unknown_email_gets_the_same_answer_and_no_email(app, client, worker, smtp_sink):
    response = _ask_for_reset(client, worker, "nobody@example.com")
    assert response.status_code == 200 and b"Check your email" in response.data
    assert smtp_sink.messages() == []
    with app.app_context():  # the request wrote a row as for a real account; the worker sent nothing
        assert db.session.scalar(select(Email.status)) == EmailStatus.SKIPPED


def test_invalid_email_is_a_422_next_to_the_field(client):
    response = client.form_post("/forgot-password", {"email": "not an email"})
    assert response.status_code == 422 and b"Enter a valid email address." in response.data


def test_short_or_mismatched_new_passwords_are_refused(client, make, worker, smtp_sink):
    admin = make.staff(make.company())
    _ask_for_reset(client, worker, admin.email)
    link = _reset_link(smtp_sink, admin.email)
    short = client.form_post(link, {"password": "short", "confirm": "short"})
    assert short.status_code == 422 and b"Use at least 10 characters." in short.data
    mismatch = client.form_post(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422 and b"The two passwords don&#39;t match." in mismatch.data


def test_owner_changes_password_and_other_sessions_are_logged_out(app, make):
    admin = make.staff(make.company())
    here, elsewhere = app.test_client(), app.test_client()
    here.login_as(admin)
    elsewhere.login_as(admin)
    response = here.form_post("/account/password",
                              {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert here.get("/setup/settings").status_code == 200
    assert elsewhere.get("/setup/settings").status_code == 303  # back to the login page


def test_change_password_needs_the_current_one(client, make):
    admin = make.staff(make.company())
    response = client.login_as(admin).form_post(
        "/account/password", {"current": "wrong", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 422 and b"That is not your current password." in response.data


def _login_state(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        keys = db.session.scalars(select(LoginSession.key).where(LoginSession.user_id == user_id)).all()
        return user.password_hash, sorted(keys)


def test_no_route_lets_staff_set_a_buyers_password(app, make, two_companies):
    # Every POST route of the URL map, called by an Admin of the buyer's seller with every
    # password-looking field set, leaves the buyer's password and sessions as they were.
    # Only the links emailed to the owner (reset, activation, confirm-link: their tokens go to
    # the owner alone) are not called here.
    buyer, company = two_companies["a_buyer"], two_companies["a"]
    app.test_client().login_as(buyer)  # signed in somewhere: no route may end that session either
    before = _login_state(app, buyer.id)
    fields = {name: NEW_PASSWORD for name in ("password", "confirm", "new_password", "password_confirm")}
    fields.update(current=PASSWORD, email=buyer.email, user_id=buyer.id, user=buyer.id)
    called, skipped = [], set()
    with app.app_context():  # the public invite page's token is the company's, and public: called too
        invite = {"token": lambda make, company: links.link_for(company.id).token}
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        makers = {**ID_ARGUMENTS, **(invite if rule.endpoint.startswith("invite_page.") else {}),
                  "heartbeat_id": lambda make, company: 1,  # the operator's: staff get 403 whatever it is
                  "device_id": lambda make, company: "0" * 64}  # one's own devices only: another's is a 404
        if set(rule.arguments) - set(makers):
            skipped.add(rule.endpoint)
            continue
        with app.app_context():
            values = {arg: makers[arg](make, company) for arg in rule.arguments}
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        staff = app.test_client().login_as(two_companies["a_admin"])  # afresh: a route may log out
        staff.post(url, data={"csrf_token": staff.csrf_token(), **fields})
        called.append(rule.endpoint)
    assert skipped == {"auth.reset_password", "auth.activate", "auth.confirm_link"}
    assert "auth.change_password" in called and len(called) > 5
    assert _login_state(app, buyer.id) == before
