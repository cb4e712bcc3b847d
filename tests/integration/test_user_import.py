"""CSV import of e-commerce users: template, dry run, the worker's run, and bad files."""
import io
import re
import threading

import dramatiq
import pytest
from sqlalchemy import func, select

from komet.accounts import import_batches, imports
from komet.extensions import db
from komet.models import AuditEvent, CustomerUser, EcommerceUser, Email, ImportStatus, User, UserImport
from tests.mailsink import text_of


@pytest.fixture
def seller(make, client):
    company = make.company("Bloom")
    client.login_as(make.staff(company))
    rose = make.customer(company, "Rose Café")
    with client.application.app_context():
        from komet.models import Customer

        db.session.get(Customer, make.customer(company, "Green Market").id).code = "GM-1"
        db.session.commit()
    return {"company": company, "rose": rose}


def upload(client, text, name="users.csv", encoding="utf-8"):
    data = text.encode(encoding) if isinstance(text, str) else text
    return client.form_post("/setup/users/import", {"file": (io.BytesIO(data), name)},
                            content_type="multipart/form-data")


def run_import(app, client, location):
    import_id = int(location.rstrip("/").rsplit("/", 1)[1])
    assert client.hx_post(f"/setup/users/import/{import_id}/start").status_code == 200
    drain("imports")
    return import_id


def drain(queue):
    """Run the stub broker's messages of `queue` in a worker until none is left."""
    broker = dramatiq.get_broker()
    worker = dramatiq.Worker(broker, worker_threads=1)
    worker.start()
    try:
        broker.join(queue, timeout=30_000)
        worker.join()
    finally:
        worker.stop()


GOOD = ("\ufeffname;email;username;customer\n"
        "Ada;ada@example.com;ada;Rose Café\n"
        "Ada;ADA@example.com;ada;gm-1\n"
        "Bob;bob@example.com;bob;Nowhere Inc\n"
        "=HYPERLINK(\"http://x\");eve@example.com;eve;Rose Café\n"
        "Cy;not-an-email;cy;Rose Café\n")


def test_template_downloads_as_csv(client, seller):
    response = client.get("/setup/users/import/template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.text.startswith("name,email,username,customer")


def test_dry_run_lists_each_row_and_changes_nothing(app, client, seller):
    response = upload(client, GOOD)
    assert response.status_code == 303
    page = client.get(response.location).text
    assert "New login created" in page and "Customer added" in page
    assert "No customer of yours has this name or code." in page and "The email is not a valid address." in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1  # only the staff member


def test_import_runs_in_the_worker_and_invalid_rows_never_block_valid_ones(app, client, seller, smtp_sink):
    response = upload(client, GOOD)
    import_id = run_import(app, client, response.location)
    progress = client.hx_get(f"/setup/users/import/{import_id}/progress").text
    assert "Import finished" in progress and "2 created" in progress and "2 refused" in progress
    assert "every 1s" not in progress
    with app.app_context():
        eve = db.session.scalar(select(EcommerceUser).where(EcommerceUser.username == "eve"))
        assert eve.name == '=HYPERLINK("http://x")'  # kept as text
        ada = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        assert db.session.scalar(select(func.count()).select_from(CustomerUser)
                                 .where(CustomerUser.user_id == ada.id)) == 2
        assert db.session.get(UserImport, import_id).status == ImportStatus.DONE
    assert "Imported" in client.get("/setup/users/audit").text


def test_the_same_file_twice_changes_nothing(app, client, seller):
    run_import(app, client, upload(client, GOOD).location)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(CustomerUser))
    second = upload(client, GOOD)
    assert "Already an e-commerce user here: unchanged" in client.get(second.location).text
    run_import(app, client, second.location)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CustomerUser)) == before
        assert db.session.scalar(select(func.count()).select_from(User)) == 3


def test_comma_separated_file_without_bom_works(client, seller):
    response = upload(client, "Name,Email,Username,Customer name\nAda,ada@example.com,ada,Rose Café\n")
    assert response.status_code == 303


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "This is not a CSV file."),
    ("name,email\nAda,ada@example.com\n".encode(), "missing: username, customer"),
    ("name,email,username,customer\nAda,ada@example.com,ada,Rosé\n".encode("latin-1"), "not UTF-8"),
])
def test_a_file_that_is_not_a_usable_csv_is_a_field_error(app, client, seller, content, message):
    response = upload(client, content)
    assert response.status_code == 422 and 'id="file-error"' in response.text and message in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserImport)) == 0


def test_too_many_rows_is_a_field_error(app, client, seller):
    app.config["USER_IMPORT_MAX_ROWS"] = 3
    try:
        rows = "".join(f"U{n},u{n}@example.com,u{n},Rose Café\n" for n in range(4))
        response = upload(client, "name,email,username,customer\n" + rows)
    finally:
        app.config["USER_IMPORT_MAX_ROWS"] = 5000
    assert response.status_code == 422 and "more than 3 rows" in response.text


def test_parse_keeps_formula_looking_cells_as_text():
    [row] = imports.parse(b"name,email,username,customer\n+cmd|' /C calc'!A0,a@x.com,@user,-1\n", 10)
    assert row["name"] == "+cmd|' /C calc'!A0" and row["customer"] == "-1" and row["username"] == "@user"


def test_an_existing_user_with_a_new_customer_is_shown_and_imported_as_customer_added(app, client, seller):
    run_import(app, client, upload(client, "name,email,username,customer\nAda,ada@example.com,ada,Rose Café\n").location)
    again = upload(client, "name,email,username,customer\nAda,ada@example.com,ada,Rose Café\nAda,ada@example.com,ada,GM-1\n")
    page = client.get(again.location).text
    assert "Adds a customer to line 2." in page  # the second line of this file
    third = upload(client, "name,email,username,customer\nAda,ada@example.com,ada,GM-1\n")
    page = client.get(third.location).text
    assert "Customer added" in page and "Adds this customer to the existing user." in page
    assert "Already an e-commerce user here: unchanged" not in page
    run_import(app, client, third.location)
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        assert db.session.scalar(select(func.count()).select_from(CustomerUser)
                                 .where(CustomerUser.user_id == ada.id)) == 2


def test_a_row_that_repeats_an_earlier_row_is_unchanged_in_the_dry_run_and_in_the_import(app, client, seller):
    response = upload(client, "name,email,username,customer\nAda,ada@example.com,ada,Rose Café\n"
                              "Ada,ADA@example.com,ada,rose café\nAda,ada@example.com,ada,GM-1\nBob,bob@example.com,bob,GM-1\n")
    page = client.get(response.location).text
    assert "Repeats line 2." in page and "Import 3 rows" in page
    assert "1 customer added" in page and "1 already an e-commerce user here: unchanged" in page
    import_id = run_import(app, client, response.location)
    progress = " ".join(client.hx_get(f"/setup/users/import/{import_id}/progress").text.split())
    assert "2 created, 0 linked to an existing login, 1 customer added, 1 unchanged, 0 refused" in progress
    with app.app_context():
        dry = [row["verdict"] for row in db.session.get(UserImport, import_id).rows]
        done = [row["outcome"] for row in db.session.get(UserImport, import_id).rows]
    assert done == dry == ["created", "unchanged", "customer", "created"]


def checked(app, company, staff, text):
    with app.app_context():
        record = imports.check(company.id, staff.id, "users.csv", text.encode())
        return record.id, imports.counts(record)


def test_each_batch_runs_a_bounded_number_of_statements_and_sends_one_email_per_new_link(
        app, client, make, seller, queries, monkeypatch, smtp_sink):
    monkeypatch.setattr(imports, "BATCH", 20)
    company = seller["company"]
    staff = make.staff(company)
    elsewhere = make.buyer(make.customer(make.company("Other Seller")), email="known@example.com")
    rows = [f"New {n},new{n}@example.com,new{n},Rose Café\n" for n in range(50)]
    rows += [f"New {n},new{n}@example.com,new{n},GM-1\n" for n in range(5)]
    rows += ["Known,known@example.com,known,GM-1\n", "Nobody,nobody@example.com,nobody,Nowhere Inc\n"]
    import_id, dry_run = checked(app, company, staff, "name,email,username,customer\n" + "".join(rows))
    assert (dry_run["created"], dry_run["linked"], dry_run["customer"], dry_run["refused"]) == (50, 1, 5, 1)
    # Between the dry run and the run a colleague takes one of the usernames: that row alone is refused.
    assert client.form_post("/setup/users/new", {"name": "Quick", "email": "quick@example.com", "username": "new7",
                                                 "customers": [seller["rose"].id]}).status_code == 303
    with queries, app.app_context():
        imports.run(import_id)
    batches = -(-len(rows) // imports.BATCH)
    assert queries.count <= 16 * batches + 8, queries.count  # the old import ran about a dozen per row
    with app.app_context():
        record = db.session.get(UserImport, import_id)
        found = imports.counts(record)
        assert (found["created"], found["linked"], found["customer"], found["refused"]) == (49, 1, 5, 2)
        [new7] = [row for row in record.rows if row["email"] == "new7@example.com" and row["customer"] == "Rose Café"]
        assert new7["reason"] == "Another e-commerce user of your company has this username. Choose another."
        kinds = db.session.execute(select(Email.kind, func.count()).where(Email.to_address != "quick@example.com")
                                   .group_by(Email.kind)).all()
        assert dict(kinds) == {"activation": 49, "link_confirm": 1}
        events = db.session.execute(select(AuditEvent.action, func.count()).where(AuditEvent.actor_id == staff.id)
                                    .group_by(AuditEvent.action)).all()
        assert dict(events) == {"user_imported": 50, "customers_added": 5, "import_run": 1}
        assert db.session.scalar(select(func.count()).select_from(CustomerUser)
                                 .where(CustomerUser.user_id == elsewhere.id)) == 2
    drain("emails")
    [message] = smtp_sink.wait_for(1, address="new3@example.com")[-1:]
    url = re.search(r"http://komet\.test(/activate/\S+)", text_of(message)).group(1)
    assert b"at least 10 characters" in app.test_client().get(url).data  # the emailed link works
    assert "Imported" in client.get("/setup/users/audit").text


def test_two_runs_of_one_import_at_once_report_the_dry_runs_totals(app, make, seller, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 3)
    staff = make.staff(seller["company"])
    rows = "".join(f"New {n},new{n}@example.com,new{n},{'Rose Café' if n % 4 else 'GM-1'}\n" for n in range(24))
    import_id, dry_run = checked(app, seller["company"], staff, "name,email,username,customer\n" + rows)
    start, errors = threading.Barrier(2), []

    def run():  # the same message delivered twice, to two worker threads
        start.wait()
        with app.app_context():
            try:
                imports.run(import_id)
            except Exception as error:
                errors.append(error)

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()
    assert errors == []
    with app.app_context():
        record = db.session.get(UserImport, import_id)
        assert imports.counts(record) == dry_run and (record.created, record.refused) == (24, 0)
        assert db.session.scalar(select(func.count()).select_from(Email)) == 24  # one activation email each
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "import_run")) == 1


def test_an_import_resumed_after_its_worker_died_reports_what_the_first_attempt_did(app, make, seller, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 4)
    staff = make.staff(seller["company"])
    rows = "".join(f"New {n},new{n}@example.com,new{n},Rose Café\n" for n in range(10))
    import_id, dry_run = checked(app, seller["company"], staff, "name,email,username,customer\n" + rows)
    real_apply, batches = import_batches.apply, []

    def dies_in_the_third_batch(*args):
        batches.append(1)
        result = real_apply(*args)  # its rows are written, then the worker dies before the commit
        if len(batches) == 3:
            raise SystemExit("worker killed")
        return result

    monkeypatch.setattr(import_batches, "apply", dies_in_the_third_batch)
    with app.app_context(), pytest.raises(SystemExit):
        imports.run(import_id)
    with app.app_context():
        assert db.session.get(UserImport, import_id).processed == 8  # two batches stayed done
        imports.run(import_id)  # the message is delivered again
        record = db.session.get(UserImport, import_id)
        assert imports.counts(record) == dry_run and record.created == 10
        assert [row["outcome"] for row in record.rows] == ["created"] * 10
