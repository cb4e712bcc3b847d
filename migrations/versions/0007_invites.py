"""Invites: the company's permanent invite link and the access requests sent through it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 21:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'invite_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('lookup', sa.String(length=24), nullable=False),
        sa.Column('secret', sa.String(length=64), nullable=False),
        sa.Column('paused', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('regenerated_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_invite_links_company_id_companies'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invite_links')),
        sa.UniqueConstraint('company_id', name=op.f('uq_invite_links_company_id')),
        sa.UniqueConstraint('lookup', name=op.f('uq_invite_links_lookup')),
    )
    op.create_table(
        'access_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('business_name', sa.String(length=120), nullable=False),
        sa.Column('contact_name', sa.String(length=120), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('phone', sa.String(length=40), nullable=False),
        sa.Column('city', sa.String(length=80), nullable=False),
        sa.Column('country', sa.String(length=80), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='requeststatus', native_enum=False,
                                    length=10), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('internal_notes', sa.Text(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_access_requests_company_id_companies'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_access_requests_customer_id_customers'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                                name=op.f('fk_access_requests_decided_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_access_requests')),
    )
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.create_index('ix_access_requests_company_id_status_id', ['company_id', 'status', 'id'],
                              unique=False)
        batch_op.create_index('ix_access_requests_company_id_email', ['company_id', 'email'], unique=False)


def downgrade():
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_access_requests_company_id_email')
        batch_op.drop_index('ix_access_requests_company_id_status_id')
    op.drop_table('access_requests')
    op.drop_table('invite_links')
