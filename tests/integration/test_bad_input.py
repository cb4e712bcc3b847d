"""Bad input gets a clear field error or a 4xx, never a 500 (run on PostgreSQL in CI, which
refuses NUL bytes and out-of-range integers that SQLite lets through)."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from komet.extensions import db
from komet.models import Message
from tests.integration.test_messages_screens import URL, form, prefixed, saved


def test_a_nul_byte_in_the_login_email_is_refused(client):
    response = client.form_post("/login", {"email": "a\x00@example.com", "password": "x"})
    assert response.status_code == 400


def test_a_nul_byte_in_a_message_title_is_refused(app, client, make):
    admin = make.staff(make.company())
    response = client.login_as(admin).form_post(URL + "new", form(title="Tulips\x00"))
    assert response.status_code == 400 and saved(app) == []


def test_a_nul_byte_in_the_search_box_is_refused(client, make):
    admin = make.staff(make.company())
    assert client.login_as(admin).get(URL + "?q=tul%00ips").status_code == 400
    assert client.hx_get(URL + "?q=%00").status_code == 400


@pytest.mark.parametrize("ident", [2**31, 2**31 - 1, 2**63, 10**30])
@pytest.mark.parametrize("path", ["{}", "{}/edit", "{}/readers", "{}/readers.csv", "{}/preview", "images/{}"])
def test_ids_out_of_the_databases_range_are_404(client, make, ident, path):
    admin = make.staff(make.company())
    assert client.login_as(admin).get(URL + path.format(ident)).status_code == 404


@pytest.mark.parametrize("path", ["{}", "{}/delete", "{}/copy", "{}/publish"])
def test_posts_to_ids_out_of_range_are_404(client, make, path):
    admin = make.staff(make.company())
    assert client.login_as(admin).form_post(URL + path.format(2**31)).status_code == 404


@pytest.mark.parametrize("page", [2**31, 2**63, 2**64, 10**40, -2**63])
def test_huge_page_numbers_show_the_last_page(client, make, page):
    company = make.company()
    admin = make.staff(company)
    make.message(company, title="Only one")
    client.login_as(admin)
    for url in (URL, "/setup/emails", "/setup/users"):
        response = client.get(f"{url}?page={page}")
        assert response.status_code == 200


def test_huge_page_in_the_shop_shows_the_last_page(client, make):
    buyer = make.buyer(make.customer(make.company()))
    assert client.login_as(buyer).get(f"/shop/?page={2**63}").status_code == 200


@pytest.mark.parametrize("when", ["9999-12-31T23:59", "9999-12-31T20:00", "9999-12-30T23:00", "0001-01-01T00:00"])
def test_dates_at_the_ends_of_the_calendar_are_a_field_error(app, client, make, when):
    admin = make.staff(make.company())
    client.login_as(admin)
    for field in ("publish_on", "expires_on"):
        response = client.form_post(URL + "new", form(**{field: when}))
        assert response.status_code == 422
    assert saved(app) == []


def test_dates_at_the_end_of_the_calendar_are_a_field_error_on_edit(client, make):
    company = make.company()
    admin = make.staff(company)
    message = make.message(company)
    response = client.login_as(admin).hx_post(f"{URL}{message.id}",
                                              prefixed(message.id, form(expires_on="9999-12-31T23:59")))
    assert response.status_code == 422


def test_copy_of_a_message_that_expires_at_the_end_of_the_calendar(app, client, make):
    company = make.company()
    admin = make.staff(company)
    message = make.message(company, title="Forever")
    with app.app_context():
        row = db.session.get(Message, message.id)
        row.expires_on = datetime(9999, 12, 30, tzinfo=timezone.utc)
        db.session.commit()
    response = client.login_as(admin).form_post(f"{URL}{message.id}/copy")
    assert response.status_code == 303
    with app.app_context():
        copy = db.session.scalar(select(Message).where(Message.title == "Copy of Forever"))
        assert copy.publish_on < copy.expires_on


@pytest.mark.parametrize("char", ["\r", "\n", "\x0b", "\x00", "\t"])
def test_control_characters_in_next_are_never_a_500(client, make, char):
    assert client.get(f"/login?next=/setup/{char}x").status_code in (200, 400)
    assert client.get(f"/setup/settings?x={char}").status_code in (303, 400)


def test_chosen_customers_that_are_all_invalid_or_another_companys_are_refused(app, client, make, two_companies):
    client.login_as(two_companies["a_admin"])
    theirs = two_companies["b_customer"].id
    for chosen in ([str(theirs)], ["999999"], [str(theirs), "999999"]):
        response = client.form_post(URL + "new", form(audience="chosen", customers=chosen))
        assert response.status_code == 422
        assert "Choose at least one customer" in response.data.decode()
    assert saved(app) == []
