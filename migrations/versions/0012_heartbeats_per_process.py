"""Heartbeats per process (role, host, pid) instead of per role; emails.trace_id

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 22:00:00

The old per-role rows are not carried over: they name no process, and every running process
writes its own row within seconds of starting on the new code. The downgrade keeps each
role's latest beat.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('heartbeats')
    op.create_table(
        'heartbeats',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=40), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('beat_at', sa.DateTime(), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_heartbeats')),
        sa.UniqueConstraint('role', 'host', 'pid', name=op.f('uq_heartbeats_role')),
    )
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trace_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_column('trace_id')
    latest = op.get_bind().execute(sa.text("SELECT role, MAX(beat_at) FROM heartbeats GROUP BY role")).all()
    op.drop_table('heartbeats')
    op.create_table(
        'heartbeats',
        sa.Column('process', sa.String(length=40), nullable=False),
        sa.Column('beat_at', sa.DateTime(), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('process', name=op.f('pk_heartbeats')),
    )
    for role, beat_at in latest:  # as read (a string on SQLite): no type conversion either way
        op.execute(sa.text("INSERT INTO heartbeats (process, beat_at, detail) VALUES (:role, :beat_at, '')")
                   .bindparams(role=role, beat_at=beat_at))
