"""Trigram index on a company's customers' names, so a request resembling an existing customer is caught

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 16:10:00

On PostgreSQL a GIN index of (company_id, name gin_trgm_ops) serves `company_id = :c AND name % :q`
in one index scan (btree_gin puts the company id in a GIN index; a trigram index on the name
alone lost to the company-id index, then filtered all 10,000 of a seller's customers). It serves
ILIKE '%…%' on names too. fastupdate is off: customers are added rarely, and with it on, rows
added since the last vacuum sit in the index's pending list, which the planner prices so high
that it goes back to the company-id index. SQLite gets a plain (company_id, name) index.
"""
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.create_index('ix_customers_company_id_name_trgm', 'customers', ['company_id', 'name'], unique=False,
                    postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'},
                    postgresql_with={'fastupdate': 'off'})


def downgrade():
    # The extensions stay: other indexes or queries may use them, and dropping one needs more rights.
    op.drop_index('ix_customers_company_id_name_trgm', table_name='customers')
