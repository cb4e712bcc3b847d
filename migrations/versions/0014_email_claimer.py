"""Which process claimed an email, and since when SMTP has failed it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 17:00:00

claimed_host / claimed_pid name the worker process holding an email (its heartbeat row's
key), so the scheduler re-drives the email of a dead worker within a minute instead of after
the whole lease. failing_since is when the attempts at an unsent email began to fail without
reaching the SMTP server (refused connections, time-outs): the operator page and
KometEmailStuck tell that from an email waiting for its retry after a temporary refusal.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_host', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('claimed_pid', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('failing_since', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_column('failing_since')
        batch_op.drop_column('claimed_pid')
        batch_op.drop_column('claimed_host')
