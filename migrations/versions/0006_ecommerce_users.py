"""E-commerce users: a login's link to each seller company, the audit log, CSV imports

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 20:00:00

`customer_users.is_active` becomes the status (Pending / Active / Disabled) of the login's
link to the company, in `ecommerce_users`, one row per (company, login) with the company's
username for the person. Existing links become Active if any of their customer links was,
with the email as the username (unique, since emails are).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ecommerce_users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('username', sa.String(length=254), nullable=False),
        sa.Column('status', sa.Enum('pending', 'active', 'disabled', name='linkstatus', native_enum=False,
                                    length=10), nullable=False),
        sa.Column('activation_nonce', sa.String(length=32), nullable=True),
        sa.Column('activation_sent_at', sa.DateTime(), nullable=True),
        sa.Column('activated_at', sa.DateTime(), nullable=True),
        sa.Column('last_sign_in_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_ecommerce_users_company_id_companies'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ecommerce_users_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ecommerce_users')),
        sa.UniqueConstraint('company_id', 'user_id', name='uq_ecommerce_users_company_id_user_id'),
        sa.UniqueConstraint('company_id', 'username', name='uq_ecommerce_users_company_id_username'),
    )
    with op.batch_alter_table('ecommerce_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ecommerce_users_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_ecommerce_users_company_id_name', ['company_id', 'name', 'id'], unique=False)

    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('ecommerce_user_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_audit_events_company_id_companies'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['ecommerce_user_id'], ['ecommerce_users.id'],
                                name=op.f('fk_audit_events_ecommerce_user_id_ecommerce_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_company_id_id', ['company_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_events_ecommerce_user_id_id', ['ecommerce_user_id', 'id'], unique=False)

    op.create_table(
        'user_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('status', sa.Enum('checked', 'queued', 'running', 'done', name='importstatus', native_enum=False,
                                    length=10), nullable=False),
        sa.Column('rows', sa.JSON(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('processed', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('linked', sa.Integer(), nullable=False),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_user_imports_company_id_companies'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_user_imports_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_imports')),
    )
    with op.batch_alter_table('user_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_imports_company_id'), ['company_id'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=40), nullable=True))

    op.execute("""
        INSERT INTO ecommerce_users (company_id, user_id, name, username, status, activated_at, created_at)
        SELECT cu.company_id, cu.user_id, u.name, u.email,
               CASE WHEN max(CASE WHEN cu.is_active THEN 1 ELSE 0 END) = 1 THEN 'active' ELSE 'pending' END,
               CASE WHEN max(CASE WHEN cu.is_active THEN 1 ELSE 0 END) = 1 THEN min(cu.created_at) END,
               min(cu.created_at)
        FROM customer_users cu JOIN users u ON u.id = cu.user_id
        GROUP BY cu.company_id, cu.user_id, u.name, u.email
    """)
    with op.batch_alter_table('customer_users', schema=None) as batch_op:
        batch_op.drop_column('is_active')


def downgrade():
    with op.batch_alter_table('customer_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_active', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("""
        UPDATE customer_users SET is_active = (
            SELECT count(*) > 0 FROM ecommerce_users e
            WHERE e.company_id = customer_users.company_id AND e.user_id = customer_users.user_id
              AND e.status = 'active')
    """)
    with op.batch_alter_table('customer_users', schema=None) as batch_op:
        batch_op.alter_column('is_active', server_default=None)

    # Not batch mode: on SQLite it copies `customers` and drops the original, and with foreign
    # keys on that drop cascades to every row that refers to a customer (SQLite >= 3.35 drops a
    # column in place).
    op.drop_column('customers', 'code')
    with op.batch_alter_table('user_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_imports_company_id'))
    op.drop_table('user_imports')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_ecommerce_user_id_id')
        batch_op.drop_index('ix_audit_events_company_id_id')
    op.drop_table('audit_events')
    with op.batch_alter_table('ecommerce_users', schema=None) as batch_op:
        batch_op.drop_index('ix_ecommerce_users_company_id_name')
        batch_op.drop_index(batch_op.f('ix_ecommerce_users_user_id'))
    op.drop_table('ecommerce_users')
