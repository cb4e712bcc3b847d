"""How the app is put together: config, dev mailbox, migrations, demo data."""
import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from config import DevelopmentConfig, ProductionConfig, TestingConfig
from komet import create_app
from komet.demo import DEMO_LOGINS, DEMO_PASSWORD, load_demo_data
from komet.extensions import db
from komet.models import Company, CustomerUser, Membership, Product, User
from workers.mailsink import read_maildir


def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)
    monkeypatch.setenv("SECRET_KEY", "dev-insecure-secret-change-me")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_dev_mailbox_is_404_outside_development(client):
    assert client.get("/dev/mail/").status_code == 404


def test_dev_mailbox_lists_received_emails_with_clickable_links(app, make, worker, smtp_sink):
    dev = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                     BROKER_URL=app.config["BROKER_URL"], DEVMAIL_DIR=str(smtp_sink.path), BASE_URL="http://komet.test")
    dev.test_client_class = app.test_client_class
    admin = make.staff(make.company())
    browser = dev.test_client()
    browser.form_post("/forgot-password", {"email": admin.email})
    worker()
    inbox = browser.get("/dev/mail/").data.decode()
    assert "Reset your Komet password" in inbox and admin.email in inbox
    [(key, _)] = read_maildir(smtp_sink.path)
    message = browser.get(f"/dev/mail/{key}").data.decode()
    assert '<a href="http://komet.test/reset-password/' in message


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == [], "models changed without a migration: run `flask db migrate`"


def test_migrations_downgrade_to_base_and_upgrade_again(app, tmp_path):
    import flask_migrate
    from sqlalchemy import create_engine, inspect, text

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql"):
        name = f"komet_migrations_check_{os.getpid()}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        scratch = url.rsplit("/", 1)[0] + "/" + name
    else:
        scratch = f"sqlite:///{tmp_path / 'migrations.db'}"
    other = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=scratch, BROKER_URL=app.config["BROKER_URL"])
    try:
        with other.app_context():
            flask_migrate.upgrade()
            assert "emails" in inspect(db.engine).get_table_names()
            flask_migrate.downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            flask_migrate.upgrade()
            assert "users" in inspect(db.engine).get_table_names()
            db.engine.dispose()
    finally:
        if url.startswith("postgresql"):  # the shared server keeps no scratch database behind
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            admin.dispose()


def test_demo_data_loads_twice_without_changing_anything(app):
    def counts():
        return [db.session.scalar(select(func.count()).select_from(m))
                for m in (Company, User, Membership, CustomerUser, Product)]

    with app.app_context():
        load_demo_data()
        first = counts()
        load_demo_data()
        assert counts() == first
        assert first[0] == 2 and first[1] == len(DEMO_LOGINS)


def test_every_demo_login_logs_in(app, client):
    with app.app_context():
        load_demo_data()
    for email, _ in DEMO_LOGINS:
        response = client.form_post("/login", {"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 303, email
        client.form_post("/logout")
