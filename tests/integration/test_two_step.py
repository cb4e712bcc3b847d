"""Two-step verification: an authenticator code after the password, for staff and buyers alike."""
import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from komet.accounts import two_step
from komet.clock import utcnow
from komet.extensions import db
from komet.invites import links
from komet.models import AuditEvent, Company, Email, Role, TwoStep
from komet.tokens import PASSWORD_RESET, fingerprint, make_token
from tests.factories import PASSWORD


def _password(client, who, **extra):
    return client.form_post("/login", {"email": who.email, "password": PASSWORD, **extra})


def _turn_on(app, who):
    """Turn two-step verification on through the setup screen; returns (secret, recovery codes)."""
    client = app.test_client().login_as(who)
    page = client.get("/account/two-step/setup")
    assert page.status_code == 200 and b"Turn on two-step verification" in page.data
    key = re.search(r'id="two-step-key">([A-Z2-7 ]+)<', page.data.decode()).group(1).replace(" ", "")
    done = client.form_post("/account/two-step/setup", {"code": pyotp.TOTP(key).now()})
    assert done.status_code == 200, done.data
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", done.data.decode())
    return key, codes


def _next_code(app, who, secret):
    """A code of a step the login has not used yet (the one after the step accepted last)."""
    with app.app_context():
        last = db.session.get(TwoStep, who.id).last_step
    return pyotp.TOTP(secret).generate_otp(last + 1)


def test_turning_it_on_shows_ten_recovery_codes_audits_and_emails_the_person(app, make):
    company = make.company("Alpha Flowers")
    admin = make.staff(company)
    _, codes = _turn_on(app, admin)
    assert len(set(codes)) == 10
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "two_step_on")) \
            == f"Two-step verification turned on for {admin.name}"
        email = db.session.scalar(select(Email).where(Email.kind == "two_step_changed"))
        assert email.to_address == admin.email and email.context["change"] == "two_step_on"


def test_the_next_login_asks_for_the_code_and_lets_nobody_in_before_it(app, make):
    admin = make.staff(make.company())
    secret, _ = _turn_on(app, admin)
    client = app.test_client()
    response = _password(client, admin)
    assert response.status_code == 303 and response.location.endswith("/login/two-step")
    assert client.get("/setup/settings").status_code == 303  # not signed in yet
    wrong = client.form_post("/login/two-step", {"code": "000000"})
    assert wrong.status_code == 422 and b"isn&#39;t right or was already used" in wrong.data
    right = client.form_post("/login/two-step", {"code": _next_code(app, admin, secret)})
    assert right.status_code == 303
    assert client.get("/setup/settings").status_code == 200


def test_a_code_once_used_is_refused_within_its_window(app, make):
    admin = make.staff(make.company())
    secret, _ = _turn_on(app, admin)
    code = _next_code(app, admin, secret)
    first, second = app.test_client(), app.test_client()
    _password(first, admin), _password(second, admin)
    assert first.form_post("/login/two-step", {"code": code}).status_code == 303
    assert second.form_post("/login/two-step", {"code": code}).status_code == 422


def test_a_recovery_code_logs_in_once(app, make):
    admin = make.staff(make.company())
    _, codes = _turn_on(app, admin)
    client = app.test_client()
    _password(client, admin)
    assert client.form_post("/login/two-step", {"code": codes[3].upper()}).status_code == 303
    assert b"You used a recovery code; 9 left." in client.get("/setup/settings", follow_redirects=True).data
    again = app.test_client()
    _password(again, admin)
    assert again.form_post("/login/two-step", {"code": codes[3]}).status_code == 422


def test_a_remembered_device_skips_the_code_step_and_only_that_device(app, make):
    admin = make.staff(make.company())
    secret, _ = _turn_on(app, admin)
    laptop = app.test_client()
    _password(laptop, admin)
    laptop.form_post("/login/two-step", {"code": _next_code(app, admin, secret), "remember_device": "y"})
    assert laptop.get_cookie("komet_trusted_device") is not None
    laptop.form_post("/logout")
    response = _password(laptop, admin)
    assert response.status_code == 303 and not response.location.endswith("/login/two-step")
    phone = app.test_client()
    assert _password(phone, admin).location.endswith("/login/two-step")
    with app.app_context():  # and not after its 30 days
        assert two_step.forget_expired_devices(now=utcnow() + timedelta(days=31)) == 1
    laptop.form_post("/logout")
    assert _password(laptop, admin).location.endswith("/login/two-step")


def test_turning_it_off_needs_the_password_and_is_told(app, make):
    admin = make.staff(make.company())
    _turn_on(app, admin)
    client = app.test_client().login_as(admin)
    wrong = client.form_post("/account/two-step/off", {"password": "not my password"})
    assert wrong.status_code == 422 and b"That is not your password." in wrong.data
    with app.app_context():
        assert two_step.is_on(admin.id)
    assert client.form_post("/account/two-step/off", {"password": PASSWORD}).status_code == 303
    with app.app_context():
        assert not two_step.is_on(admin.id)
        assert db.session.scalar(select(Email.context).where(Email.kind == "two_step_changed")
                                 .order_by(Email.id.desc()))["change"] == "two_step_off"
    assert _password(app.test_client(), admin).location.endswith("/setup/")


def test_wrong_codes_are_limited_per_login(app, make):
    admin = make.staff(make.company())
    _turn_on(app, admin)
    client = app.test_client()
    _password(client, admin)
    answers = [client.form_post("/login/two-step", {"code": f"{n:06d}"}).status_code for n in range(6)]
    assert answers == [422] * 5 + [429]


def test_an_admin_can_require_it_and_staff_set_it_up_at_their_next_login(app, make):
    company = make.company()
    admin, setup = make.staff(company), make.staff(company, role=Role.SETUP)
    assert app.test_client().login_as(setup).form_post("/setup/settings/two-step", {"required": "y"}).status_code == 403
    assert app.test_client().login_as(admin).form_post("/setup/settings/two-step", {"required": "y"}).status_code == 303
    with app.app_context():
        assert db.session.get(Company, company.id).require_two_step
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "two_step_required"))
    client = app.test_client()
    response = _password(client, setup)
    assert response.status_code == 303 and response.location.endswith("/account/two-step/setup")
    assert client.get("/setup/users/").location.endswith("/account/two-step/setup")  # nothing else first
    page = client.get("/account/two-step/setup").data.decode()
    key = re.search(r'id="two-step-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert client.form_post("/account/two-step/setup", {"code": pyotp.TOTP(key).now()}).status_code == 200
    assert client.get("/setup/settings").status_code == 200
    refused = client.form_post("/account/two-step/off", {"password": PASSWORD})
    assert refused.status_code == 409 and b"requires two-step verification for staff" in refused.data


def test_a_password_reset_does_not_skip_the_code_step(app, make):
    admin = make.staff(make.company())
    _turn_on(app, admin)
    with app.app_context():
        user = two_step.login_for(admin.id)
        token = make_token(PASSWORD_RESET, user.id, fingerprint(user.password_hash))
    client = app.test_client()
    reset = client.form_post(f"/reset-password/{token}", {"password": "a brand new passphrase",
                                                          "confirm": "a brand new passphrase"})
    assert reset.status_code == 303 and reset.location.endswith("/login")
    response = client.form_post("/login", {"email": admin.email, "password": "a brand new passphrase"})
    assert response.location.endswith("/login/two-step")
    assert client.get("/setup/settings").status_code == 303


def test_the_invite_page_login_asks_for_the_code_and_then_enters_that_shop(app, make):
    alpha, beta = make.company("Alpha Flowers"), make.company("Beta Produce")
    buyer = make.buyer(make.customer(beta, "Beta Customer"))
    make.link(buyer, make.customer(alpha, "Alpha Customer"))
    secret, _ = _turn_on(app, buyer)
    with app.app_context():
        token = links.link_for(alpha.id).token
    client = app.test_client()
    response = client.form_post(f"/i/{token}/login", data={"email": buyer.email, "password": PASSWORD})
    assert response.status_code == 303 and response.location.endswith("/login/two-step")
    assert client.get("/shop/").status_code == 303
    response = client.form_post("/login/two-step", {"code": _next_code(app, buyer, secret)})
    assert response.location.endswith("/shop/")
    shop = client.get("/shop/").data.decode()
    assert "Alpha Flowers" in shop and 'class="focused-header' in shop and "Change Company" not in shop


def test_the_code_step_waits_five_minutes_at_most(app, make, monkeypatch):
    admin = make.staff(make.company())
    secret, _ = _turn_on(app, admin)
    client = app.test_client()
    _password(client, admin)
    with client.session_transaction() as session:
        session["two_step_pending"] = {**session["two_step_pending"], "at": 0}
    response = client.form_post("/login/two-step", {"code": _next_code(app, admin, secret)})
    assert response.status_code == 303 and response.location.endswith("/login")


@pytest.mark.parametrize("who", ["buyer", "staff"])
def test_the_settings_page_says_whether_it_is_on(app, make, who):
    company = make.company()
    person = make.buyer(make.customer(company)) if who == "buyer" else make.staff(company)
    client = app.test_client().login_as(person)
    assert b"Two-step verification is <strong>off</strong>" in client.get("/account/two-step").data
    _turn_on(app, person)
    page = client.get("/account/two-step").data
    assert b"Two-step verification is <strong>on</strong>" in page and b"<strong>10</strong> unused recovery codes" in page
