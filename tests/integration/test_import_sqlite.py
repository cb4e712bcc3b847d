"""The CSV import on `make run`'s embedded database: a SQLite file that the worker and the web
write at the same time."""
import re
import threading
import time
import urllib.parse

import flask_migrate
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from config import TestingConfig
from komet import create_app
from komet.accounts import buyers, imports
from komet.clock import utcnow
from komet.extensions import db
from komet.models import Customer, EcommerceUser, LoginSession, User, UserImport
from tests.factories import PASSWORD, Factory

ROWS = 60


@pytest.fixture
def sqlite_app(app, tmp_path):
    other = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'komet.db'}",
                       BROKER_URL=app.config["BROKER_URL"])
    with other.app_context():
        flask_migrate.upgrade()
    yield other
    with other.app_context():
        db.engine.dispose()


def checked_import(app, rows=ROWS):
    make = Factory(app)
    company = make.company("Bloom")
    staff = make.staff(company)
    customers = [make.customer(company, f"Customer {n}") for n in range(3)]
    csv = "name,email,username,customer\n" + "".join(
        f"Buyer {n},buyer{n}@example.com,buyer{n},Customer {n % 3}\n" for n in range(rows))
    with app.app_context():
        record = imports.check(company.id, staff.id, "buyers.csv", csv.encode())
        return record.id, imports.counts(record), company, staff, customers


def run_as_the_worker_does(app, import_id, attempts=4):
    """Run the import, retrying on an error as the actor's retries do; the errors it met."""
    errors = []
    for _ in range(attempts):
        with app.app_context():
            try:
                imports.run(import_id)
                return errors
            except OperationalError as error:
                errors.append(error)
    return errors


def test_the_worker_imports_while_the_web_writes_to_the_same_sqlite_file(sqlite_app, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 5)  # many short transactions, interleaved with the web's
    import_id, dry_run, company, staff, customers = checked_import(sqlite_app)
    importing, web_errors, web_writes = threading.Event(), [], []

    def web():
        # What requests do meanwhile: read, then write (a login), and add e-commerce users.
        n = 0
        while importing.is_set() or n < 10:
            n += 1
            with sqlite_app.app_context():
                try:
                    user = db.session.scalar(select(User).where(User.id == staff.id))
                    db.session.add(LoginSession(key=f"web-{n}", user_id=user.id, created_at=utcnow(), last_seen_at=utcnow()))
                    db.session.commit()
                    buyers.add_ecommerce_user(company.id, name=f"Web {n}", email=f"web{n}@example.com", username=f"web{n}",
                                              customers=[db.session.get(Customer, customers[0].id)], actor_id=staff.id)
                    web_writes.append(n)
                except OperationalError as error:
                    web_errors.append(error)

    importing.set()
    writer = threading.Thread(target=web)
    writer.start()
    try:
        import_errors = run_as_the_worker_does(sqlite_app, import_id)
    finally:
        importing.clear()
        writer.join()
    assert import_errors == [] and web_errors == []
    with sqlite_app.app_context():
        record = db.session.get(UserImport, import_id)
        assert (record.created, record.refused) == (ROWS, 0)
        assert imports.counts(record) == dry_run
        assert db.session.scalar(select(func.count()).select_from(User).where(User.email.like("buyer%"))) == ROWS
        assert db.session.scalar(select(func.count()).select_from(User).where(User.email.like("web%"))) == len(web_writes)


def test_a_retry_after_a_failed_batch_reports_what_the_dry_run_said(sqlite_app, monkeypatch):
    monkeypatch.setattr(imports, "BATCH", 10)
    import_id, dry_run, *_ = checked_import(sqlite_app)
    real_commit, commits = db.session.commit, []

    def commit_that_dies_once():
        commits.append(1)
        if len(commits) == 4:  # the worker dies as it ends the third batch
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        real_commit()

    monkeypatch.setattr(db.session, "commit", commit_that_dies_once)
    assert len(run_as_the_worker_does(sqlite_app, import_id)) == 1
    with sqlite_app.app_context():
        record = db.session.get(UserImport, import_id)
        assert imports.counts(record) == dry_run
        assert (record.created, record.linked) == (ROWS, 0)


def test_a_change_begun_with_a_savepoint_is_undone_whole_on_sqlite(sqlite_app):
    # Adding an existing login opens its first write with a savepoint; releasing a savepoint
    # that opened the transaction used to commit it, so a rollback after it kept the link.
    make = Factory(sqlite_app)
    company = make.company("Bloom")
    customer = make.customer(company, "Rose Café")
    known = make.buyer(make.customer(make.company("Other")), email="known@example.com")
    with sqlite_app.app_context():
        buyers.add(company.id, name="Known", email=known.email, username="known",
                   customers=[db.session.get(Customer, customer.id)], confirmed=True)
        db.session.rollback()  # e.g. the request failed after the add
        assert db.session.scalar(select(func.count()).select_from(EcommerceUser)
                                 .where(EcommerceUser.company_id == company.id)) == 0


def test_a_transaction_that_reads_then_writes_waits_for_another_writer_on_sqlite(sqlite_app):
    make = Factory(sqlite_app)
    staff = make.staff(make.company("Bloom"))
    has_read, other_wrote, errors = threading.Event(), threading.Event(), []

    def reads_then_writes():
        with sqlite_app.app_context():
            try:
                with db.session.begin_nested():
                    db.session.scalar(select(User.name).where(User.id == staff.id))
                    has_read.set()
                    other_wrote.wait(timeout=1)  # the other writer waits for this one, or has written
                    db.session.add(LoginSession(key="first", user_id=staff.id, created_at=utcnow(), last_seen_at=utcnow()))
                db.session.commit()
            except OperationalError as error:
                errors.append(error)

    def writes():
        has_read.wait(timeout=5)
        with sqlite_app.app_context():
            try:
                db.session.add(LoginSession(key="second", user_id=staff.id, created_at=utcnow(), last_seen_at=utcnow()))
                db.session.commit()
            except OperationalError as error:
                errors.append(error)
            other_wrote.set()

    threads = [threading.Thread(target=reads_then_writes), threading.Thread(target=writes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sqlite_app.app_context():
        assert set(db.session.scalars(select(LoginSession.key))) == {"first", "second"}


def test_make_runs_worker_imports_while_its_web_adds_users_on_one_sqlite_file(sqlite_app, smtp_sink, tmp_path):
    """`make run`'s processes: gunicorn and a dramatiq worker on one SQLite file."""
    from tests.integration.test_real_processes import Browser
    from tests.stack import Stack

    import_id, dry_run, company, staff, customers = checked_import(sqlite_app, rows=1200)  # three batches
    stack = Stack(sqlite_app.config["SQLALCHEMY_DATABASE_URI"], smtp_sink.port, smtp_sink.path, tmp_path)
    try:
        stack.start_web()
        stack.start_worker()
        staff_browser = Browser(stack.url)
        assert staff_browser.submit("/login", {"email": staff.email, "password": PASSWORD})[0] == 200
        _, page = staff_browser.get(f"/setup/users/import/{import_id}")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        staff_browser.opener.open(f"{stack.url}/setup/users/import/{import_id}/start",  # Import 1200 rows
                                  data=urllib.parse.urlencode({"csrf_token": token}).encode(), timeout=10)
        answers, adds_while_importing = [], 0
        deadline = time.monotonic() + 120
        while "Import finished" not in (progress := staff_browser.get(f"/setup/users/import/{import_id}/progress")[1]):
            assert time.monotonic() < deadline, stack.log("worker")[-3000:]
            adds_while_importing += "Importing:" in progress  # a colleague adds users meanwhile
            n = len(answers)
            answers.append(staff_browser.submit("/setup/users/new", {
                "name": f"Web {n}", "email": f"web{n}@example.com", "username": f"web{n}",
                "customers": customers[0].id})[0])
        summary = " ".join(staff_browser.get(f"/setup/users/import/{import_id}/progress")[1].split())
    finally:
        stack.stop()
    assert adds_while_importing and answers == [200] * len(answers)  # each add answered with the list, never a 500
    assert "database is locked" not in stack.log("worker") + stack.log("web")
    assert "1200 created, 0 linked to an existing login, 0 customers added, 0 unchanged, 0 refused" in summary
    with sqlite_app.app_context():
        assert imports.counts(db.session.get(UserImport, import_id)) == dry_run
        assert db.session.scalar(select(func.count()).select_from(User).where(User.email.like("web%"))) == len(answers)
