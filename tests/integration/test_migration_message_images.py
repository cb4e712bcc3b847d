"""Migration 0019: images the app does not serve leave the message content already stored."""
import flask_migrate
from sqlalchemy import text

from komet.extensions import db
from tests.integration.test_migration_ecommerce_users import in_scratch_app

MESSAGE = "INSERT INTO messages (id, company_id, title, content_html, publish_on, expires_on, type, " \
          "for_all_customers, status, created_at, updated_at) VALUES (:id, :company, 'T', :html, '2026-01-01', " \
          "'2027-01-01', 'popup', true, 'published', '2026-01-01', '2026-01-01')"


def test_foreign_images_go_the_companys_own_stay_and_cached_shops_are_renewed(app, tmp_path):
    in_scratch_app(app, tmp_path, "0019", _check)


def _check():
    flask_migrate.upgrade(revision="0013")
    own, other = '<img alt="Ours" src="/shop/messages/images/1">', '<img alt="" src="/shop/messages/images/2">'
    contents = {
        1: f'<p>Roses</p>{own}<img alt="" src="x"><figure><img alt="" src="https://elsewhere.example/a.png"></figure>',
        2: f"<p>Theirs</p>{other}",
        3: "<p>No pictures</p>",
    }
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO companies (id, name, slug, timezone, created_at) VALUES "
                          "(1, 'Bloom', 'bloom', 'UTC', '2026-01-01'), (2, 'Harvest', 'harvest', 'UTC', '2026-01-01')"))
        conn.execute(text("INSERT INTO message_images (id, company_id, content_type, data, created_at) VALUES "
                          "(1, 1, 'image/png', :data, '2026-01-01'), (2, 2, 'image/png', :data, '2026-01-01')"),
                     {"data": b"\x89PNG"})
        for message_id, company in ((1, 1), (2, 1), (3, 2)):
            conn.execute(text(MESSAGE), {"id": message_id, "company": company, "html": contents[message_id]})
    flask_migrate.upgrade(revision="0019")
    with db.engine.begin() as conn:
        stored = dict(conn.execute(text("SELECT id, content_html FROM messages")).all())
        versions = dict(conn.execute(text("SELECT id, messages_version FROM companies")).all())
    assert stored == {1: f"<p>Roses</p>{own}", 2: "<p>Theirs</p>", 3: "<p>No pictures</p>"}
    assert versions == {1: 1, 2: 0}  # Bloom's cached shop regions are not used again
    flask_migrate.downgrade(revision="0013")
    flask_migrate.upgrade(revision="0019")
