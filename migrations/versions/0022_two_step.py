"""Two-step verification: authenticator secrets, recovery codes, trusted devices, and the
company's "require it for all staff"

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-07 16:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'two_step_logins',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(length=64), nullable=False),
        sa.Column('enabled_at', sa.DateTime(), nullable=False),
        sa.Column('last_step', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_two_step_logins_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_two_step_logins')),
    )
    op.create_table(
        'two_step_recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_two_step_recovery_codes_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_two_step_recovery_codes')),
    )
    op.create_index(op.f('ix_two_step_recovery_codes_user_id'), 'two_step_recovery_codes', ['user_id'])
    op.create_table(
        'two_step_trusted_devices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_two_step_trusted_devices_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_two_step_trusted_devices')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_two_step_trusted_devices_token_hash')),
    )
    op.create_index(op.f('ix_two_step_trusted_devices_user_id'), 'two_step_trusted_devices', ['user_id'])
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_two_step', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('require_two_step')
    op.drop_index(op.f('ix_two_step_trusted_devices_user_id'), table_name='two_step_trusted_devices')
    op.drop_table('two_step_trusted_devices')
    op.drop_index(op.f('ix_two_step_recovery_codes_user_id'), table_name='two_step_recovery_codes')
    op.drop_table('two_step_recovery_codes')
    op.drop_table('two_step_logins')
