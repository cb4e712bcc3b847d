"""Heartbeats (when the worker and the scheduler last did their work) and platform operators

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 21:30:00

Written on a branch next to 0007 (invites): the lead re-chains down_revision to "0007" at
merge; the table is independent of invites.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'heartbeats',
        sa.Column('process', sa.String(length=40), nullable=False),
        sa.Column('beat_at', sa.DateTime(), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('process', name=op.f('pk_heartbeats')),
    )
    # An operator runs the platform (the /operator page); created by `flask operator create`.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_operator', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('is_operator')
    op.drop_table('heartbeats')
