"""Catch the company that is already a customer: a request whose business name closely resembles
one of the seller's customers is warned about, named, and linked to it in one click."""
import pytest
from sqlalchemy import func, select, text

from komet.extensions import db
from komet.invites import lookalikes, requests
from komet.models import AccessRequest, AuditEvent, Customer, Email, RequestStatus

FORM = {"business_name": "Green Market Inc.", "contact_name": "Gina Green", "email": "gina@newmail.example",
        "phone": "", "city": "", "country": "", "message": ""}
QUEUE = "/setup/users/invite/requests?status=pending"


def _request(app, company, **fields):
    with app.app_context():
        return requests.submit(company.id, **{**FORM, **fields})[0].id


def _text(html):
    import re
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def postgresql(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("a PostgreSQL planner question (CI runs the suite on PostgreSQL)")


def test_a_request_resembling_a_customer_names_it_and_offers_to_link_to_it(app, client, make):
    company, other = make.company(), make.company()
    make.customer(company, "Green Market")
    make.customer(company, "Corner Bistro")
    make.customer(other, "Sunny Stems")  # another seller's customer: never a match here
    asked = _request(app, company)
    _request(app, company, business_name="Corner Bakery", email="bakery@example.com")
    _request(app, company, business_name="Sunny Stems", email="sunny@example.com")
    page = _text(client.login_as(make.staff(company)).get(QUEUE).data.decode())
    assert page.count("This business name resembles your customer") == 1
    assert "resembles your customer Green Market . If it is the same company" in page
    assert "Link to this customer" in page
    with app.app_context():
        green = db.session.scalar(select(Customer.id).where(Customer.name == "Green Market"))
    html = client.get(QUEUE).data.decode()
    assert f'action="/setup/users/invite/requests/{asked}/approve"' in html
    assert f'name="customers" value="{green}"' in html


def test_link_to_this_customer_approves_into_that_customer_in_one_click(app, client, make):
    company = make.company()
    green = make.customer(company, "Green Market")
    asked = _request(app, company)
    client.login_as(make.staff(company))
    response = client.form_post(f"/setup/users/invite/requests/{asked}/approve",
                                data={"choice": "existing", "customers": str(green.id)})
    assert response.status_code == 303
    with app.app_context():
        access = db.session.get(AccessRequest, asked)
        assert access.status == RequestStatus.APPROVED and access.customer_id == green.id
        assert db.session.scalar(select(func.count()).select_from(Customer)
                                 .where(Customer.company_id == company.id)) == 1  # no second Green Market
        assert db.session.scalar(select(Email.to_address).where(Email.kind == "activation")) == FORM["email"]
    assert "resembles your customer" not in client.get("/setup/users/invite/requests?status=approved").data.decode()


def test_approve_selected_skips_a_request_resembling_a_customer_and_one_repeated_in_the_selection(app, client, make):
    company = make.company()
    make.customer(company, "Green Market")
    asked = _request(app, company)
    twice = [_request(app, company, business_name="Daisy Days", email=f"daisy{n}@example.com") for n in (1, 2)]
    response = client.login_as(make.staff(company)).form_post(
        "/setup/users/invite/requests/decide", data={"action": "approve", "selected": [asked, *twice]})
    summary = _text(response.data.decode())
    assert "Approved 1 of 3 requests" in summary
    assert ("Green Market Inc. gina@newmail.example Skipped: its business name resembles your customer Green Market."
            in summary)
    assert "daisy2@example.com Skipped: its business name resembles your customer Daisy Days." in summary
    with app.app_context():
        assert db.session.get(AccessRequest, asked).status == RequestStatus.PENDING
        assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "request_approved")).all() \
            == ["request_approved"]


@pytest.mark.parametrize("asked, expected", [
    ("Green Market", "Green Market"), ("green market inc", "Green Market"), ("Greenmarket", "Green Market"),
    ("Rose Cafe", "Rose Café 🌹"), ("Corner Bakery", None), ("Green Grocer", None), ("Sunny Stems", None)])
def test_names_that_closely_resemble_a_customer_match_and_others_do_not(app, make, asked, expected):
    company = make.company()
    for name in ("Green Market", "Rose Café 🌹", "Corner Bistro", "Petal & Stem Florist"):
        make.customer(company, name)
    with app.app_context():
        request = AccessRequest(id=1, business_name=asked)
        found = lookalikes.match(company.id, request)
        by_ratio = lookalikes._by_ratio(company.id, asked)  # SQLite's way, on any database
    assert (found[1] if found else None) == expected
    assert (by_ratio[1] if by_ratio else None) == expected


def test_the_lookalike_query_uses_the_trigram_index_at_ten_thousand_customers(app, postgresql, make):
    company, other = make.company(), make.company()
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO customers (company_id, name, created_at) SELECT CASE WHEN n % 2 = 0 THEN :a ELSE :b END,"
            " initcap(substr(md5(n::text), 1, 6)) || ' ' || (ARRAY['Florist', 'Market', 'Deli', 'Café', 'Bistro'])"
            "[1 + n % 5], now() FROM generate_series(1, 20000) n"), {"a": company.id, "b": other.id})
        db.session.commit()
        db.session.execute(text("ANALYZE customers"))
        query = lookalikes.trigram_query(company.id, [(1, "Green Market Inc."), (2, "Daisy Days")])
        sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(db.session.scalars(text("EXPLAIN " + sql.replace("%%", "%").replace(":", r"\:"))))
        db.session.rollback()
    assert "ix_customers_company_id_name_trgm" in plan, plan
    assert "Seq Scan on customers" not in plan, plan
