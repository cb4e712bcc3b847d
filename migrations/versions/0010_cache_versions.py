"""Cache versions: counters that key the cached shop messages and Message History

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 23:00:00

companies.messages_version changes with every change to what a company's buyers can be shown
(a message saved, copied, published or deleted); companies.history_version with that and with
everything else Message History shows (a customer's first read, a customer added, a scheduler
transition); users.reads_version with every read the user records. Each is bumped in the
transaction of the change, and the session query returns them, so a cached region is looked
up under its current version with no extra round trip.
"""
import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('companies') as batch:
        batch.add_column(sa.Column('messages_version', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('history_version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('reads_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('reads_version')
    with op.batch_alter_table('companies') as batch:
        batch.drop_column('history_version')
        batch.drop_column('messages_version')
