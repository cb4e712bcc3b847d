"""Search and list indexes: trigrams for Setup > Users; customers, buyers and emails by company

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07 16:30:00

On PostgreSQL the search indexes are GIN trigram indexes (pg_trgm), which answer
ILIKE '%text%'; SQLite gets plain indexes of the same names, which such a search does not
use (it scans, as before), so that the schema matches the models on both.
"""
from alembic import op


revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = [('ix_users_email_trgm', 'users', 'email'),
                   ('ix_customers_code_trgm', 'customers', 'code'),
                   ('ix_ecommerce_users_name_trgm', 'ecommerce_users', 'name'),
                   ('ix_ecommerce_users_username_trgm', 'ecommerce_users', 'username')]


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for name, table, column in TRIGRAM_INDEXES:
        op.create_index(name, table, [column], unique=False, postgresql_using='gin',
                        postgresql_ops={column: 'gin_trgm_ops'})
    op.create_index('ix_customers_company_id_name', 'customers', ['company_id', 'name', 'id'], unique=False)
    # Covers what the plain customer_id index did (its first column), and answers a search by
    # customer from the index alone.
    with op.batch_alter_table('customer_users', schema=None) as batch_op:
        batch_op.create_index('ix_customer_users_customer_id_company_id_user_id',
                              ['customer_id', 'company_id', 'user_id'], unique=False)
        batch_op.drop_index('ix_customer_users_customer_id')
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.create_index('ix_emails_company_id_id', ['company_id', 'id'], unique=False)
        batch_op.drop_index('ix_emails_company_id')


def downgrade():
    # The extension stays: other schemas or apps may use it.
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.create_index('ix_emails_company_id', ['company_id'], unique=False)
        batch_op.drop_index('ix_emails_company_id_id')
    with op.batch_alter_table('customer_users', schema=None) as batch_op:
        batch_op.create_index('ix_customer_users_customer_id', ['customer_id'], unique=False)
        batch_op.drop_index('ix_customer_users_customer_id_company_id_user_id')
    op.drop_index('ix_customers_company_id_name', table_name='customers')
    for name, table, _ in reversed(TRIGRAM_INDEXES):
        op.drop_index(name, table_name=table)
