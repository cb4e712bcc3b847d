"""The shop's messages and Message History are cached (komet.caching), and nothing cached is
ever seen stale: each change shows on the very next request, with the cache warm."""
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

import komet.clock
from komet import caching
from komet.extensions import cache, db
from komet.models import EcommerceUser, LinkStatus
from tests.factories import PASSWORD

HISTORY = "/setup/settings/promotions-and-messages/"


@pytest.fixture
def clock(monkeypatch):
    """The app's clock (komet.clock), moved forward with `clock.move(delta)`."""

    class Clock:
        offset = timedelta(0)

        def move(self, delta):
            self.offset += delta

    moved = Clock()

    class Shifted(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + moved.offset

    monkeypatch.setattr(komet.clock, "datetime", Shifted)
    return moved


@pytest.fixture
def seller(make):
    company = make.company()
    customer = make.customer(company)
    return {"company": company, "customer": customer, "admin": make.staff(company), "buyer": make.buyer(customer)}


def _shop(app, buyer):
    client = app.test_client().login_as(buyer)
    page = client.get("/shop/")
    assert page.status_code == 200
    return client, page.data.decode()


def _token(page):
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


def test_a_warm_cache_is_really_used(app, seller, queries):
    first, second = (app.test_client().login_as(seller["buyer"]) for _ in range(2))
    first.get("/shop/")
    with queries:
        assert second.get("/shop/").status_code == 200
    assert queries.count == 2  # the session (with the versions) and the catalogue: no messages query


def test_a_message_shows_on_the_first_request_after_its_publish_on(app, make, seller, clock):
    make.message(seller["company"], "Tomorrow's tulips", starts_in=timedelta(hours=1))
    client, page = _shop(app, seller["buyer"])
    assert "Tomorrow&#39;s tulips" not in page
    known = re.search(r"known=([^\"&]*)", page).group(1)
    assert client.hx_get(f"/shop/messages?known={known}").status_code == 204  # cached, nothing new
    clock.move(timedelta(hours=1, seconds=1))
    assert "Tomorrow&#39;s tulips" in client.hx_get(f"/shop/messages?known={known}").data.decode()
    assert "Tomorrow&#39;s tulips" in client.get("/shop/").data.decode()


def test_a_message_is_gone_on_the_first_request_after_its_expires_on(app, make, seller, clock):
    make.message(seller["company"], "Last call", lasts=timedelta(hours=2))
    client, page = _shop(app, seller["buyer"])
    assert "Last call" in page
    clock.move(timedelta(hours=1, seconds=1))
    assert "Last call" not in client.get("/shop/").data.decode()


def test_history_shows_a_status_change_on_the_first_request_after_it(app, client, make, seller, clock):
    make.message(seller["company"], "Soon", starts_in=timedelta(minutes=30))
    client.login_as(seller["admin"])
    assert "status-draft" in client.get(HISTORY).data.decode()
    clock.move(timedelta(minutes=31))
    page = client.get(HISTORY).data.decode()
    assert "status-published" in page and "status-draft" not in page


def test_a_read_shows_at_once_in_history_and_in_the_buyers_unread_state(app, client, make, seller):
    message = make.message(seller["company"], "Roses")
    client.login_as(seller["admin"])
    assert "0 of 1 customer" in client.get(HISTORY).data.decode()
    buyer, page = _shop(app, seller["buyer"])
    assert "(new)" in page
    assert buyer.hx_post(f"/shop/messages/{message.id}/read").status_code == 204
    assert "(new)" not in buyer.get("/shop/").data.decode()
    assert "1 of 1 customer" in client.get(HISTORY).data.decode()


def test_a_save_and_a_delete_in_history_show_on_the_next_request(app, client, make, seller):
    message = make.message(seller["company"], "Before")
    client.login_as(seller["admin"])
    assert "Before" in client.get(HISTORY).data.decode()
    _, shop = _shop(app, seller["buyer"])
    assert "Before" in shop
    edit = client.hx_get(f"{HISTORY}{message.id}/edit").data.decode()
    fields = dict(re.findall(r'name="(m\d+-[a-z_]+)"[^>]*?value="([^"]*)"', edit))
    fields.update({f"m{message.id}-title": "After", f"m{message.id}-audience": "all",
                   f"m{message.id}-type": "popup", f"m{message.id}-content": "<p>New</p>"})
    assert client.hx_post(f"{HISTORY}{message.id}", fields).status_code == 200
    page = client.get(HISTORY).data.decode()
    assert "After" in page and "Before" not in page
    assert "After" in _shop(app, seller["buyer"])[1]
    assert client.hx_post(f"{HISTORY}{message.id}/delete").status_code == 200
    assert "After" not in client.get(HISTORY).data.decode()
    assert "After" not in _shop(app, seller["buyer"])[1]


def test_a_new_message_shows_in_history_and_the_shop_at_once(app, client, seller):
    client.login_as(seller["admin"])
    client.get(HISTORY)
    _shop(app, seller["buyer"])
    now = komet.clock.utcnow()
    client.form_post(f"{HISTORY}new", {
        "title": "Fresh lilies", "content": "<p>Lilies</p>", "type": "popup", "audience": "all",
        "publish_now": "y", "expires_on": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")})
    assert "Fresh lilies" in client.get(HISTORY).data.decode()
    assert "Fresh lilies" in _shop(app, seller["buyer"])[1]


def test_a_revoked_customer_link_closes_the_cached_shop_on_the_next_request(app, make, seller):
    make.message(seller["company"], "Members only")
    client, _ = _shop(app, seller["buyer"])
    with app.app_context():
        db.session.execute(update(EcommerceUser).where(EcommerceUser.user_id == seller["buyer"].id)
                           .values(status=LinkStatus.DISABLED))
        db.session.commit()
    response = client.get("/shop/")
    assert response.status_code == 303 and response.location.endswith("/choose")
    poll = client.hx_get("/shop/messages?known=")
    assert poll.headers.get("HX-Redirect", "").endswith("/choose")


def test_a_changed_password_logs_the_cached_shop_out_on_the_next_request(app, make, seller):
    make.message(seller["company"], "Members only")
    elsewhere, _ = _shop(app, seller["buyer"])
    here, _ = _shop(app, seller["buyer"])
    response = here.form_post("/account/password", {"current": PASSWORD, "password": "a new password 42",
                                                     "confirm": "a new password 42"})
    assert response.status_code == 303
    response = elsewhere.get("/shop/")
    assert response.status_code == 303 and "/login" in response.location


def test_cached_history_gives_each_session_its_own_form_token(app, make, seller):
    make.message(seller["company"], "Draft", starts_in=timedelta(days=1))
    other_admin = make.staff(seller["company"])
    pages = [app.test_client().login_as(staff).get(HISTORY).data.decode() for staff in (seller["admin"], other_admin)]
    for page in pages:
        tokens = set(re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', page))
        assert tokens == {_token(page)}  # every form of the page: this session's token
    assert _token(pages[0]) != _token(pages[1])


def test_pages_still_answer_when_the_cache_store_is_unreachable(app, make, seller, monkeypatch):
    make.message(seller["company"], "Still here")

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache store is away")

    monkeypatch.setattr(cache, "get", unreachable)
    monkeypatch.setattr(cache, "set", unreachable)
    monkeypatch.setattr(caching, "_skip_until", 0.0)
    assert "Still here" in _shop(app, seller["buyer"])[1]
    staff = app.test_client().login_as(seller["admin"])
    assert "Still here" in staff.get(HISTORY).data.decode()


def test_the_schedulers_transitions_move_message_history_on(app, make, seller, clock):
    from komet.messages import schedule
    from komet.models import Company

    make.message(seller["company"], "Soon", starts_in=timedelta(minutes=5))
    with app.app_context():
        before = db.session.get(Company, seller["company"].id).history_version
        clock.move(timedelta(minutes=6))
        assert schedule.sweep() == 1
        db.session.expire_all()
        assert db.session.get(Company, seller["company"].id).history_version == before + 1
