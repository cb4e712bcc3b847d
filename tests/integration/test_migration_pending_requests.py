"""Migration 0009: one pending access request per (company, email); older duplicates closed."""
import flask_migrate
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from komet.extensions import db
from tests.integration.test_migration_ecommerce_users import in_scratch_app

ROW = "INSERT INTO access_requests (id, company_id, business_name, contact_name, email, phone, city, country, " \
      "message, status, reason, internal_notes, created_at) VALUES ({id}, {company}, '{name}', 'C', '{email}', " \
      "'', '', '', '', '{status}', '', '', '2026-01-01')"


def test_older_duplicates_are_rejected_the_newest_stays_pending_and_downgrade_is_clean(app, tmp_path):
    in_scratch_app(app, tmp_path, "0009", _check)


def _rows(conn):
    return [tuple(r) for r in conn.execute(text("SELECT id, status, reason FROM access_requests ORDER BY id"))]


def _check():
    flask_migrate.upgrade(revision="0008")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO companies (id, name, slug, timezone, created_at) VALUES "
                          "(1, 'Bloom', 'bloom', 'UTC', '2026-01-01'), (2, 'Harvest', 'harvest', 'UTC', '2026-01-01')"))
        for row in [(1, 1, "Old", "a@x.com", "pending"), (2, 1, "Older twin", "a@x.com", "pending"),
                    (3, 1, "Newest", "a@x.com", "pending"), (4, 1, "Decided", "a@x.com", "rejected"),
                    (5, 2, "Other seller", "a@x.com", "pending"), (6, 1, "Alone", "b@x.com", "pending")]:
            conn.execute(text(ROW.format(**dict(zip(("id", "company", "name", "email", "status"), row)))))
    flask_migrate.upgrade(revision="0009")
    with db.engine.begin() as conn:
        duplicate = "Duplicate of request #3 from the same email, which stays pending."
        assert _rows(conn) == [(1, "rejected", duplicate), (2, "rejected", duplicate), (3, "pending", ""),
                               (4, "rejected", ""), (5, "pending", ""), (6, "pending", "")]
        events = conn.execute(text("SELECT company_id, action, detail FROM audit_events ORDER BY id")).all()
        assert [(c, a) for c, a, _ in events] == [(1, "request_rejected")] * 2
        assert events[0][2] == f"Old (a@x.com): {duplicate}"
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text(ROW.format(id=7, company=1, name="Again", email="a@x.com", status="pending")))
    flask_migrate.downgrade(revision="0008")
    with db.engine.begin() as conn:  # no index any more: a second pending row goes in
        conn.execute(text(ROW.format(id=7, company=1, name="Again", email="a@x.com", status="pending")))
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM access_requests WHERE id = 7"))
    flask_migrate.upgrade(revision="0009")
