"""The audience of New Message and inline Edit: a customer search, not a list of every customer."""
import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import event, insert, select, update

from komet import customers
from komet.clock import utcnow
from komet.extensions import db
from komet.models import Customer, Message, MessageCustomer
from komet.tenancy import Workspace
from komet.timezones import input_value

URL = "/setup/settings/promotions-and-messages/"


@pytest.fixture
def postgresql(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("a question of scale, asked of PostgreSQL (CI runs the suite on it)")


def add_customers(app, company, count, start=0):
    """`count` customers of `company` in one statement: 10,000 take a fraction of a second."""
    with app.app_context():
        db.session.execute(insert(Customer), [{"company_id": company.id, "name": f"Bulk customer {n:05d}"}
                                              for n in range(start, start + count)])
        db.session.commit()


def for_chosen(app, message, *customers):
    with app.app_context():
        db.session.get(Message, message.id).for_all_customers = False
        db.session.add_all(MessageCustomer(message_id=message.id, customer_id=c.id) for c in customers)
        db.session.commit()


def audience(app, message_id):
    with app.app_context():
        return set(db.session.scalars(select(MessageCustomer.customer_id)
                                      .where(MessageCustomer.message_id == message_id)))


def form(**overrides):
    wall = input_value(utcnow() + timedelta(days=2), "America/New_York")
    return {"title": "Tulip week", "content": "<p>Tulips</p>", "publish_now": "y", "expires_on": wall,
            "type": "popup", "audience": "all", **overrides}


class RowsRead:
    """Counts the rows the database hands back inside a `with` block."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.count = 0

    def _on(self, conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and cursor.rowcount > 0:
            self.count += cursor.rowcount

    def __enter__(self):
        self.count = 0
        event.listen(self.engine, "after_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "after_cursor_execute", self._on)


def measure(client, queries, message_id):
    """Bytes and SQL statements of New Message, the Edit page and the History row's inline Edit."""
    sizes = {}
    for name, get, url in (("new", client.get, URL + "new"), ("edit page", client.get, f"{URL}{message_id}/edit"),
                           ("inline edit", client.hx_get, f"{URL}{message_id}/edit")):
        with queries:
            response = get(url)
        assert response.status_code == 200, name
        sizes[name] = (len(response.data), queries.count)
    return sizes


def test_new_message_and_edit_cost_the_same_with_10_or_10000_customers(app, client, make, queries, postgresql):
    company = make.company()
    rose, deli = make.customer(company, "Rose Café 🌹"), make.customer(company, "Green Market Deli")
    message = make.message(company, "For two")
    for_chosen(app, message, rose, deli)
    add_customers(app, company, 8)
    client.login_as(make.staff(company))
    few = measure(client, queries, message.id)
    add_customers(app, company, 9990, start=8)
    many = measure(client, queries, message.id)
    print("\n10 customers:", few, "\n10,000 customers:", many)
    for name, (size, count) in few.items():
        assert abs(many[name][0] - size) <= 2_000, (name, few, many)
        assert many[name][1] == count, (name, few, many)
    edit = client.hx_get(f"{URL}{message.id}/edit").text
    assert "Rose Café 🌹" in edit and "Green Market Deli" in edit and "Bulk customer" not in edit


def test_save_for_chosen_customers_reads_only_the_ids_sent(app, client, make, queries, postgresql):
    company = make.company()
    rose, deli = make.customer(company, "Rose Café 🌹"), make.customer(company, "Green Market Deli")
    add_customers(app, company, 10)
    client.login_as(make.staff(company))
    chosen = {"audience": "chosen", "customers": [str(rose.id), str(deli.id)]}
    with queries:
        assert client.form_post(URL + "new", form(**chosen)).status_code == 303
    few = queries.count
    add_customers(app, company, 9990, start=10)
    with queries, RowsRead(app) as rows:
        assert client.form_post(URL + "new", form(title="Again", **chosen)).status_code == 303
    assert queries.count == few, queries.statements
    assert rows.count < 10, "Save read more rows than the customers it was sent"
    with app.app_context():
        ids = db.session.scalars(select(Message.id).order_by(Message.id)).all()
    assert [audience(app, i) for i in ids] == [{rose.id, deli.id}] * 2


def test_new_message_shows_no_customer_until_one_is_searched_for(client, make):
    company = make.company()
    make.customer(company, "Rose Café 🌹")
    page = client.login_as(make.staff(company)).get(URL + "new").text
    assert "Rose Café" not in page and "Find customers by name or code" in page and "None chosen yet." in page
    found = client.hx_get("/setup/customers/search?name=customers&q=rose").text
    assert 'name="customers"' in found and "Rose Café 🌹" in found


def test_the_search_leaves_out_the_customers_already_chosen(client, make):
    company = make.company()
    rose, roses = make.customer(company, "Rose Café 🌹"), make.customer(company, "Roses & Co")
    client.login_as(make.staff(company))
    found = client.hx_get(f"/setup/customers/search?name=m7-customers&q=rose&m7-customers={rose.id}").text
    assert "Roses &amp; Co" in found and "Rose Café" not in found and 'name="m7-customers"' in found
    assert "Rose Café" in client.hx_get("/setup/customers/search?name=customers&q=rose&customers=x").text


def test_inline_edit_shows_only_the_chosen_customers_as_chips_and_saves_the_picked_ones(app, client, make):
    company = make.company()
    rose, deli, florist = (make.customer(company, n) for n in ("Rose Café 🌹", "Green Market Deli", "Corner Florist"))
    message = make.message(company, "For one")
    for_chosen(app, message, rose)
    client.login_as(make.staff(company))
    row = client.hx_get(f"{URL}{message.id}/edit").text
    assert f'name="m{message.id}-customers" value="{rose.id}" checked' in row
    assert "Green Market Deli" not in row and "Corner Florist" not in row
    picked = {f"m{message.id}-{k}": v for k, v in form(title="For two", audience="chosen",
                                                     customers=[str(rose.id), str(florist.id)]).items()}
    saved = client.hx_post(f"{URL}{message.id}", picked)
    assert saved.status_code == 200 and "For two" in saved.text
    assert audience(app, message.id) == {rose.id, florist.id}
    assert deli  # made, never chosen


def test_another_companys_customer_is_dropped_and_alone_it_is_a_422_next_to_the_audience(app, client, make,
                                                                                          two_companies):
    mine, theirs = two_companies["a_customer"], two_companies["b_customer"]
    message = make.message(two_companies["a"], "Ours")
    client.login_as(two_companies["a_admin"])
    data = {f"m{message.id}-{k}": v for k, v in form(audience="chosen", customers=[str(theirs.id)]).items()}
    refused = client.hx_post(f"{URL}{message.id}", data)
    assert refused.status_code == 422
    assert re.search(rf'id="m{message.id}-audience-error">Choose at least one customer', refused.text)
    assert "Beta Customer" not in refused.text and audience(app, message.id) == set()
    data[f"m{message.id}-customers"] = [str(theirs.id), str(mine.id)]
    kept = client.hx_post(f"{URL}{message.id}", {**data, f"m{message.id}-title": ""})
    assert kept.status_code == 422  # no title: the chips come back, only ours
    assert "Alpha Customer" in kept.text and "Beta Customer" not in kept.text
    assert client.hx_post(f"{URL}{message.id}", data).status_code == 200
    assert audience(app, message.id) == {mine.id}


def test_a_copy_keeps_the_audience(app, client, make):
    company = make.company()
    rose, deli = make.customer(company, "Rose Café 🌹"), make.customer(company, "Green Market Deli")
    message = make.message(company, "For two")
    for_chosen(app, message, rose, deli)
    client.login_as(make.staff(company)).form_post(f"{URL}{message.id}/copy")
    with app.app_context():
        copy_id = db.session.scalar(select(Message.id).where(Message.title == "Copy of For two"))
    assert audience(app, copy_id) == {rose.id, deli.id}


def test_by_ids_gives_this_companys_customers_among_the_ids_by_name(app, make, two_companies):
    bakery = make.customer(two_companies["a"], "Aaron's Bakery")
    with app.app_context(), app.test_request_context():
        g.workspace = Workspace("staff-0", two_companies["a"])
        found = customers.by_ids([two_companies["b_customer"].id, two_companies["a_customer"].id, bakery.id, 999_999])
        assert [c.name for c in found] == ["Aaron's Bakery", "Alpha Customer"]
        assert customers.by_ids([]) == []


def test_search_finds_by_name_or_code_with_like_characters_taken_as_typed(app, make):
    company = make.company()
    for name in ("50% Roses", "500 Roses", "Rose_Café", "RoseXCafé"):
        make.customer(company, name)
    with app.app_context():
        db.session.execute(update(Customer).where(Customer.name == "500 Roses").values(code="R-77"))
        db.session.commit()
        with app.test_request_context():
            g.workspace = Workspace("staff-0", company)
            assert [c.name for c in customers.search("50%")] == ["50% Roses"]
            assert [c.name for c in customers.search("_caf")] == ["Rose_Café"]
            assert [c.name for c in customers.search("r-7")] == ["500 Roses"]
            assert len(customers.search("", limit=3)) == 3
