"""Index a company's messages by Publish On for Message History

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:40:00

Message History lists a company's messages newest Publish On first. Without an index on that
order every page read and sorted all of the company's messages; with it a page is read in
order and stops after the page.
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_messages_company_publish_id', 'messages', ['company_id', 'publish_on', 'id'])


def downgrade():
    op.drop_index('ix_messages_company_publish_id', table_name='messages')
