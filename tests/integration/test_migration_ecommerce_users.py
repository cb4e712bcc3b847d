"""Migration 0006 turns customer_users.is_active into the link's status, and back."""
import os

import flask_migrate
from sqlalchemy import create_engine, text

from config import TestingConfig
from komet import create_app
from komet.extensions import db


def _scratch_database(url, tmp_path, revision="0006"):
    """An empty database on the same server as the tests' (PostgreSQL), or a SQLite file."""
    if not url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'm.db'}", lambda: None
    name = f"komet_migration_{revision}_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")

    def run(sql):
        with admin.connect() as conn:
            conn.execute(text(sql))

    run(f"DROP DATABASE IF EXISTS {name}")
    run(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name, lambda: (run(f"DROP DATABASE IF EXISTS {name}"), admin.dispose())


def in_scratch_app(app, tmp_path, revision, check):
    """Run `check()` in an app context on a scratch database of its own, then drop it."""
    url, drop = _scratch_database(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, revision)
    scratch = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, BROKER_URL=app.config["BROKER_URL"])
    try:
        with scratch.app_context():
            check()
            db.engine.dispose()
    finally:
        drop()


def test_existing_links_keep_their_access_through_upgrade_and_downgrade(app, tmp_path):
    url, drop = _scratch_database(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    scratch = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, BROKER_URL=app.config["BROKER_URL"])
    try:
        _check(scratch)
    finally:
        drop()


def _check(scratch):
    with scratch.app_context():
        flask_migrate.upgrade(revision="0003")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO companies (id, name, slug, timezone, created_at) VALUES "
                              "(1, 'Bloom', 'bloom', 'UTC', '2026-01-01'), (2, 'Harvest', 'harvest', 'UTC', '2026-01-01')"))
            conn.execute(text("INSERT INTO customers (id, company_id, name, created_at) VALUES "
                              "(1, 1, 'Rose', '2026-01-01'), (2, 1, 'Green', '2026-01-01'), (3, 2, 'Deli', '2026-01-01')"))
            conn.execute(text("INSERT INTO users (id, email, name, session_token, is_active, created_at) VALUES "
                              "(1, 'milo@example.com', 'Milo', 't', true, '2026-01-01')"))
            conn.execute(text("INSERT INTO customer_users (user_id, customer_id, company_id, is_active, created_at) "
                              "VALUES (1, 1, 1, true, '2026-01-01'), (1, 2, 1, false, '2026-01-01'), "
                              "(1, 3, 2, false, '2026-01-01')"))
        flask_migrate.upgrade(revision="0006")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT company_id, username, status FROM ecommerce_users ORDER BY company_id")).all()
        assert [tuple(r) for r in rows] == [(1, "milo@example.com", "active"), (2, "milo@example.com", "pending")]
        flask_migrate.downgrade(revision="0005")
        with db.engine.connect() as conn:
            flags = conn.execute(text("SELECT customer_id, is_active FROM customer_users ORDER BY customer_id")).all()
        assert [(c, bool(a)) for c, a in flags] == [(1, True), (2, True), (3, False)]
        db.engine.dispose()
