"""Profile > Your devices: the login's signed-in devices, and logging the others out."""
import re

import pytest
from sqlalchemy import func, select

from komet.extensions import db
from komet.models import LoginSession
from tests.factories import PASSWORD

WINDOWS_CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Safari/537.36")
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.4 Mobile/15E148 Safari/604.1")


def device(app, email, user_agent):
    """A browser of its own that logged in through the login form with this User-Agent."""
    client = app.test_client()
    response = client.form_post("/login", {"email": email, "password": PASSWORD}, headers={"User-Agent": user_agent})
    assert response.status_code == 303, response.text
    return client


def logout_urls(page):
    return re.findall(r'action="(/account/devices/[0-9a-f]+/logout)"', page)


@pytest.fixture
def buyer(make):
    seller, other_seller = make.company("Bloom"), make.company("Harvest")
    return make.buyer(make.customer(seller), make.customer(other_seller), email="ada@example.com")


def test_profile_lists_both_devices_with_browser_and_system_and_marks_this_one(app, buyer):
    laptop = device(app, buyer.email, WINDOWS_CHROME)
    device(app, buyer.email, IPHONE_SAFARI)
    page = laptop.get("/account/profile").text
    assert "Chrome 131 on Windows 10" in page and "Mobile Safari 17 on iOS 17" in page
    this = re.search(r"<tr>(?:(?!</tr>).)*\(this device\)(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert "Chrome 131" in this and "/logout" not in this  # this device logs out with Log out
    assert len(logout_urls(page)) == 1 and "Log out everywhere else" in page


def test_logging_out_the_other_device_makes_its_cookie_load_nobody(app, buyer):
    laptop = device(app, buyer.email, WINDOWS_CHROME)
    phone = device(app, buyer.email, IPHONE_SAFARI)
    assert phone.get("/account/profile").status_code == 200
    [url] = logout_urls(laptop.get("/account/profile").text)
    response = laptop.form_post(url)
    assert response.status_code == 303 and response.location.endswith("/account/profile")
    assert "That device is logged out." in laptop.get("/account/profile").text
    gone = phone.get("/account/profile")
    assert gone.status_code in (302, 303) and "/login" in gone.location
    assert laptop.get("/account/profile").status_code == 200  # this device stays signed in


def test_log_out_everywhere_else_keeps_only_this_device(app, buyer):
    laptop = device(app, buyer.email, WINDOWS_CHROME)
    others = [device(app, buyer.email, IPHONE_SAFARI) for _ in range(2)]
    response = laptop.form_post("/account/devices/logout-others")
    assert response.status_code == 303
    assert "Logged out everywhere else (2 devices)." in laptop.get("/account/profile").text
    assert all("/login" in other.get("/account/profile").location for other in others)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 1


def test_another_users_device_is_a_404_and_staff_never_see_a_buyers_devices(app, make, buyer):
    phone = device(app, buyer.email, IPHONE_SAFARI)
    device(app, buyer.email, WINDOWS_CHROME)
    [buyers_url] = logout_urls(phone.get("/account/profile").text)
    staff = make.staff(make.company("Bloom staff"), email="anna@bloom.example")
    desk = device(app, staff.email, WINDOWS_CHROME)
    page = desk.get("/account/profile").text
    assert "Mobile Safari" not in page and logout_urls(page) == []
    assert desk.form_post(buyers_url).status_code == 404
    assert desk.form_post("/account/devices/caf%C3%A9/logout").status_code == 404  # not even a digest
    assert phone.get("/account/profile").status_code == 200  # still signed in


def test_the_user_agent_is_stored_truncated_at_login(app, buyer):
    device(app, buyer.email, "x" * 5000)
    with app.app_context():
        assert len(db.session.scalar(select(LoginSession.user_agent))) == 400
