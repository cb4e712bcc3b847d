"""The browser each signed-in device used (its User-Agent), for Profile > Your devices

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 16:40:00

Sessions signed in before this revision have none: Profile shows them as an unknown browser.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_agent', sa.String(length=400), nullable=True))


def downgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_column('user_agent')
