"""Point images in message content at the shop's image URL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:05:00

Images in messages were served under /setup/settings/promotions-and-messages/images/<id>, a
staff URL that reached buyers' pages. They are served under /shop/messages/images/<id> now;
this rewrites the URLs already stored in message content (and back on downgrade).
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OLD = '/setup/settings/promotions-and-messages/images/'
NEW = '/shop/messages/images/'


def _replace(old, new):
    messages = sa.table('messages', sa.column('content_html', sa.Text))
    op.execute(messages.update()
               .where(messages.c.content_html.contains(old))
               .values(content_html=sa.func.replace(messages.c.content_html, old, new)))


def upgrade():
    _replace(OLD, NEW)


def downgrade():
    _replace(NEW, OLD)
