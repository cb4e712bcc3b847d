"""Setup > Users' Export to CSV: what the list shows, every page, and back in through the import."""
import csv
import io
import tracemalloc

import pytest
from sqlalchemy import select, text, update

from komet.extensions import db
from komet.models import Customer, EcommerceUser, LinkStatus, Role, UserImport
from tests.integration.test_user_import import upload


@pytest.fixture
def seller(make, client):
    company = make.company("Bloom")
    client.login_as(make.staff(company))
    rose, green = make.customer(company, "Rose Café"), make.customer(company, "Green Market")
    with client.application.app_context():
        db.session.get(Customer, green.id).code = "GM-1"
        db.session.commit()
    return {"company": company, "rose": rose, "green": green}


def rows_of(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def rename(app, account_id, **values):
    with app.app_context():
        db.session.execute(update(EcommerceUser).where(EcommerceUser.id == account_id).values(**values))
        db.session.commit()


def test_export_is_the_import_template_plus_status_and_last_sign_in_one_row_per_customer(app, client, make, seller):
    ada = make.ecommerce_user(seller["company"], seller["rose"], seller["green"], email="ada@example.com")
    rename(app, ada.id, name="Ada", username="ada")
    rows = rows_of(client.get("/setup/users/export.csv"))
    assert rows[0] == ["name", "email", "username", "customer", "status", "last sign-in (America/New_York)"]
    # The customer by its code where it has one: a name may be shared, a code is not.
    assert rows[1:] == [["Ada", "ada@example.com", "ada", "GM-1", "Active", ""],
                        ["Ada", "ada@example.com", "ada", "Rose Café", "Active", ""]]


def test_export_keeps_the_search_and_status_filter_over_every_page_and_only_this_company(app, client, make, seller):
    for n in range(30):  # more than a page of the list (25)
        make.ecommerce_user(seller["company"], seller["rose"], email=f"tulip{n}@example.com")
    off = make.ecommerce_user(seller["company"], seller["rose"], email="tulip-off@example.com",
                              status=LinkStatus.DISABLED)
    make.ecommerce_user(seller["company"], seller["green"], email="other@example.com")
    other = make.company("Other")
    make.ecommerce_user(other, make.customer(other), email="tulip-elsewhere@example.com")
    emails = [row[1] for row in rows_of(client.get("/setup/users/export.csv?q=tulip"))[1:]]
    assert len(emails) == 31 and "other@example.com" not in emails and "tulip-elsewhere@example.com" not in emails
    disabled = rows_of(client.get("/setup/users/export.csv?q=tulip&status=disabled"))[1:]
    assert [row[1] for row in disabled] == [off.email] and disabled[0][4] == "Disabled"
    page = client.get("/setup/users?q=tulip&status=disabled").text
    assert 'href="/setup/users/export.csv?q=tulip&amp;status=disabled"' in page


def test_cells_a_spreadsheet_would_run_are_neutralised(app, client, make, seller):
    for n, name in enumerate(['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTab", "\rReturn", "Plain"]):
        account = make.ecommerce_user(seller["company"], seller["rose"], email=f"f{n}@example.com")
        rename(app, account.id, name=name)
    names = {row[0] for row in rows_of(client.get("/setup/users/export.csv"))[1:]}
    assert names == {'\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "'\tTab", "'\rReturn", "Plain"}


def test_export_edit_and_import_again_leaves_every_untouched_row_unchanged(app, client, make, seller):
    ada = make.ecommerce_user(seller["company"], seller["rose"], seller["green"], email="ada@example.com")
    eve = make.ecommerce_user(seller["company"], seller["rose"], email="eve@example.com", status=LinkStatus.DISABLED)
    make.ecommerce_user(seller["company"], seller["green"], email="cy@example.com", status=LinkStatus.PENDING)
    rename(app, eve.id, name='=HYPERLINK("http://x")')
    rename(app, ada.id, last_sign_in_at=db.func.now())
    exported = rows_of(client.get("/setup/users/export.csv"))
    # In the spreadsheet: one new line for a new buyer; the rest as exported.
    edited = exported + [["Dee", "dee@example.com", "dee", "Rose Café", "", ""]]
    out = io.StringIO()
    csv.writer(out).writerows(edited)
    response = upload(client, "\ufeff" + out.getvalue(), name="exported.csv")
    assert response.status_code == 303
    with app.app_context():
        record = db.session.scalars(select(UserImport)).one()
        verdicts = [(row["email"], row["verdict"]) for row in record.rows]
    assert verdicts == [(row[1], "unchanged") for row in exported[1:]] + [("dee@example.com", "created")]


@pytest.mark.parametrize("role", [Role.SALES_MANAGER])
def test_a_buyer_cannot_export_and_staff_who_manage_users_can(client, make, role):
    company = make.company()
    assert client.login_as(make.staff(company, role=role)).get("/setup/users/export.csv").status_code == 200
    buyer = make.buyer(make.customer(company))
    assert client.application.test_client().login_as(buyer).get("/setup/users/export.csv").status_code == 403


def test_fifty_thousand_users_stream_without_being_held_in_memory(app, client, seller):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the server-side cursor is PostgreSQL's")
        db.session.execute(text(
            "INSERT INTO users (email, name, is_active, is_operator, reads_version, created_at) "
            "SELECT 'bulk' || n || '@example.com', 'Bulk buyer ' || n, true, false, 0, now() "
            "FROM generate_series(1, 50000) n"))
        db.session.execute(text(
            "INSERT INTO ecommerce_users (company_id, user_id, name, username, status, created_at) "
            "SELECT :company, id, name, split_part(email, '@', 1), 'active', now() FROM users "
            "WHERE email LIKE 'bulk%'"), {"company": seller["company"].id})
        db.session.execute(text(
            "INSERT INTO customer_users (user_id, customer_id, company_id, created_at) "
            "SELECT id, :customer, :company, now() FROM users WHERE email LIKE 'bulk%'"),
            {"customer": seller["rose"].id, "company": seller["company"].id})
        db.session.commit()
        for table in ("users", "ecommerce_users", "customer_users"):  # as autovacuum would after such a load
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
    response = client.get("/setup/users/export.csv", buffered=False)
    assert response.is_streamed
    tracemalloc.start()
    lines, size = 0, 0
    for chunk in response.response:
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        size += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    response.close()
    assert lines == 50_001
    # The whole file is ~3 MB and its rows as Python objects far more; a stream holds one batch.
    assert peak < size / 2, f"peak {peak:,} bytes for a {size:,}-byte export"


def test_an_email_username_and_customer_code_the_export_neutralised_come_back_in_as_they_were(app, client, make, seller):
    with app.app_context():
        db.session.get(Customer, seller["green"].id).code = "+GM"
        db.session.commit()
    ann = make.ecommerce_user(seller["company"], seller["green"], email="-ann@example.com")
    rename(app, ann.id, name="=Ann", username="@ann")
    exported = rows_of(client.get("/setup/users/export.csv"))
    assert exported[1][:4] == ["'=Ann", "'-ann@example.com", "'@ann", "'+GM"]
    # A new line typed the export's way; a leading ' before anything else is part of the cell.
    edited = exported + [["Bo", "'=bo@example.com", "'-bo", "'+GM", "", ""],
                         ["'Cy", "cy@example.com", "'cy", "Rose Café", "", ""]]
    out = io.StringIO()
    csv.writer(out).writerows(edited)
    assert upload(client, "\ufeff" + out.getvalue(), name="exported.csv").status_code == 303
    with app.app_context():
        record = db.session.scalars(select(UserImport)).one()
        rows = [(row["name"], row["email"], row["username"], row["customer"], row["verdict"]) for row in record.rows]
    assert rows == [("=Ann", "-ann@example.com", "@ann", "+GM", "unchanged"),
                    ("Bo", "=bo@example.com", "-bo", "+GM", "created"),
                    ("'Cy", "cy@example.com", "'cy", "Rose Café", "created")]
