"""Audit events of the platform itself (an operator's action), which belong to no company;
heartbeats.pid_namespace

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:30:00

The downgrade deletes those events: the old schema has no place for them. Existing heartbeat
rows get no namespace (their process is judged by its age only) until it beats again.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('company_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('heartbeats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pid_namespace', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('heartbeats', schema=None) as batch_op:
        batch_op.drop_column('pid_namespace')
    op.execute(sa.text("DELETE FROM audit_events WHERE company_id IS NULL"))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('company_id', existing_type=sa.Integer(), nullable=False)
