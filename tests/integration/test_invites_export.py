"""The access-request queue exports to CSV: the current tab, every page, streamed, and safe to
open in a spreadsheet."""
import csv
import io

import pytest

from komet.invites import requests
from komet.web.spreadsheets import safe_cell
from komet.models import Role

FORM = {"business_name": "Rose Café", "contact_name": "Rosa Diaz", "email": "rosa@example.com",
        "phone": "555-0100", "city": "Miami", "country": "USA", "message": "Hello"}


def _request(app, company, **fields):
    with app.app_context():
        return requests.submit(company.id, **{**FORM, **fields})[0].id


def _rows(response):
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize("value, shown", [("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
                                          ("+1 555 0100", "'+1 555 0100"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
                                          ("\tTab", "'\tTab"), ("\rCR", "'\rCR"), ("Rose Café", "Rose Café"),
                                          ("", ""), (None, "")])
def test_a_cell_a_spreadsheet_would_run_is_kept_text(value, shown):
    assert safe_cell(value) == shown


def test_the_queue_exports_the_current_tab_every_page_with_formulas_neutralised(app, client, make):
    company, other = make.company(), make.company()
    sales = make.staff(company, role=Role.SALES_MANAGER)
    for n in range(30):  # more than a page
        _request(app, company, business_name=f"Shop {n:02d}", email=f"shop{n}@example.com")
    _request(app, company, business_name='=HYPERLINK("http://evil.example","Click")', email="evil@example.com",
             phone="+1 555 0100", message="@SUM(1+1)")
    decided = _request(app, company, business_name="Decided Deli", email="deli@example.com")
    _request(app, other, business_name="Other Seller's Shop", email="other@example.com")
    client.login_as(sales).form_post(f"/setup/users/invite/requests/{decided}/reject", data={"reason": "-Full"})

    response = client.get("/setup/users/invite/requests.csv?status=pending")
    assert response.status_code == 200 and response.mimetype == "text/csv" and response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _rows(response)
    assert rows[0][:3] == ["Business name", "Contact name", "Email"]
    assert len(rows) == 1 + 31  # every page of the Pending tab, nothing of the other tab or seller
    evil = rows[1]
    assert evil[0] == "'=HYPERLINK(\"http://evil.example\",\"Click\")"
    assert evil[3] == "'+1 555 0100" and evil[6] == "'@SUM(1+1)" and evil[7] == "Pending"
    names = {row[0] for row in rows[1:]}
    assert "Decided Deli" not in names and "Other Seller's Shop" not in names

    rejected = _rows(client.get("/setup/users/invite/requests.csv?status=rejected"))
    assert len(rejected) == 2
    row = dict(zip(rejected[0], rejected[1]))
    assert row["Business name"] == "Decided Deli" and row["Status"] == "Rejected" and row["Reason"] == "'-Full"
    assert row["Decided by"] == sales.name and row["Decided"].endswith(("EST", "EDT"))


def test_the_export_is_for_admins_and_sales_managers_of_the_company_only(app, client, make):
    company = make.company()
    assert client.login_as(make.staff(company, role=Role.SETUP)).get(
        "/setup/users/invite/requests.csv").status_code == 403
    assert client.login_as(make.staff(company)).get("/setup/users/invite/requests.csv?status=nope").status_code == 404
