"""The CSV import on `make run`'s embedded database: a SQLite file that the worker and the web
write at the same time."""
import threading

import flask_migrate
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from config import TestingConfig
from komet import create_app
from komet.accounts import buyers, imports
from komet.clock import utcnow
from komet.extensions import db
from komet.models import Customer, LoginSession, User, UserImport
from tests.factories import Factory

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
