"""Cache version of Setup > Users: companies.users_version

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 17:10:00

Bumped in the transaction of every change to what Setup > Users shows for the company (a user
added, edited, disabled, enabled or activated, a CSV import batch, an approved access request,
a buyer's sign-in time), so the cached table is looked up under its current version.
"""
import sqlalchemy as sa
from alembic import op


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('companies') as batch:
        batch.add_column(sa.Column('users_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('companies') as batch:
        batch.drop_column('users_version')
