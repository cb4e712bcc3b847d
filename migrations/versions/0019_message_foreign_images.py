"""Drop images from message content that this app does not serve

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 16:45:00

Message content used to keep any <img> address (`x`, another site's picture): buyers' shops then
asked for /shop/x (a 404) or for a picture the Content-Security-Policy refuses (img-src 'self').
Content is now saved with only the images the company stored (komet/messages/content.py); this
applies the same rule to what is already stored, and bumps each changed company's
messages_version so no cached shop region keeps the old content. The rule is written out here,
not imported, so that this migration keeps doing what it did when the sanitiser changes.

Downgrade restores nothing: the dropped addresses pointed at nothing a buyer could be shown.
"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_IMAGE = re.compile(r"<img\b[^>]*>")
_SRC = re.compile(r'\bsrc="/shop/messages/images/(\d+)"')
_EMPTY_FIGURE = re.compile(r"<figure\b[^>]*>\s*</figure>")

messages = sa.table('messages', sa.column('id', sa.Integer), sa.column('company_id', sa.Integer),
                    sa.column('content_html', sa.Text))
images = sa.table('message_images', sa.column('id', sa.Integer), sa.column('company_id', sa.Integer))
companies = sa.table('companies', sa.column('id', sa.Integer), sa.column('messages_version', sa.Integer))


def _without_foreign_images(html, stored):
    def keep(match):
        src = _SRC.search(match.group(0))
        return match.group(0) if src and int(src.group(1)) in stored else ""

    return _EMPTY_FIGURE.sub("", _IMAGE.sub(keep, html))


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.select(messages.c.id, messages.c.company_id, messages.c.content_html)
                        .where(messages.c.content_html.contains('<img'))).all()
    stored, changed = {}, set()
    for message_id, company_id, html in rows:
        if company_id not in stored:
            stored[company_id] = set(conn.execute(sa.select(images.c.id).where(images.c.company_id == company_id))
                                     .scalars())
        clean = _without_foreign_images(html, stored[company_id])
        if clean != html:
            conn.execute(messages.update().where(messages.c.id == message_id).values(content_html=clean))
            changed.add(company_id)
    if changed:
        conn.execute(companies.update().where(companies.c.id.in_(changed))
                     .values(messages_version=companies.c.messages_version + 1))


def downgrade():
    pass  # see the module's docstring: nothing that was dropped could be shown
