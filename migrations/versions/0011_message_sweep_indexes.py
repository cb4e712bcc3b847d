"""Partial indexes for the scheduler's sweep, instead of (status, date) indexes

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 23:59:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_status_publish_on')
        batch_op.drop_index('ix_messages_status_expires_on')
        batch_op.create_index('ix_messages_draft_publish', ['publish_on'], unique=False,
                              postgresql_where=sa.text("status = 'draft'"), sqlite_where=sa.text("status = 'draft'"))
        batch_op.create_index('ix_messages_unexpired_expires', ['expires_on'], unique=False,
                              postgresql_where=sa.text("status <> 'expired'"),
                              sqlite_where=sa.text("status <> 'expired'"))


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_unexpired_expires')
        batch_op.drop_index('ix_messages_draft_publish')
        batch_op.create_index('ix_messages_status_expires_on', ['status', 'expires_on'], unique=False)
        batch_op.create_index('ix_messages_status_publish_on', ['status', 'publish_on'], unique=False)
