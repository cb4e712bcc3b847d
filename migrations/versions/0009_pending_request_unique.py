"""At most one pending access request per (company, email), held by a partial unique index

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 23:00:00

Written on a branch next to another 0009: the lead re-chains down_revision at merge.

Before the index can exist, duplicates already stored (two submits that raced before this
index) are closed: for each (company, email) the newest pending request stays pending, and
every older one becomes Rejected with the reason "Duplicate of request #<newest id> …", a
decided_at of the migration's time, no decider, and an audit event. No email is sent: the
person's newest request is still waiting for staff. Downgrade drops the index only; the
closed duplicates stay rejected.
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

PENDING = "status = 'pending'"

requests = sa.table('access_requests', sa.column('id', sa.Integer), sa.column('company_id', sa.Integer),
                    sa.column('email', sa.String), sa.column('business_name', sa.String),
                    sa.column('status', sa.String), sa.column('reason', sa.Text),
                    sa.column('decided_at', sa.DateTime))
events = sa.table('audit_events', sa.column('company_id', sa.Integer), sa.column('action', sa.String),
                  sa.column('detail', sa.Text), sa.column('created_at', sa.DateTime))


def _close_older_duplicates(conn):
    newest = sa.select(requests.c.company_id, requests.c.email, sa.func.max(requests.c.id).label('keep')) \
        .where(requests.c.status == 'pending').group_by(requests.c.company_id, requests.c.email) \
        .having(sa.func.count() > 1).subquery()
    older = conn.execute(
        sa.select(requests.c.id, requests.c.company_id, requests.c.email, requests.c.business_name, newest.c.keep)
        .join(newest, sa.and_(requests.c.company_id == newest.c.company_id, requests.c.email == newest.c.email))
        .where(requests.c.status == 'pending', requests.c.id != newest.c.keep)).all()
    now = datetime.now(timezone.utc).replace(tzinfo=None)  # stored as naive UTC, like UTCDateTime
    for row in older:
        reason = f"Duplicate of request #{row.keep} from the same email, which stays pending."
        conn.execute(requests.update().where(requests.c.id == row.id, requests.c.status == 'pending')
                     .values(status='rejected', reason=reason, decided_at=now))
        conn.execute(events.insert().values(company_id=row.company_id, action='request_rejected', created_at=now,
                                            detail=f"{row.business_name} ({row.email}): {reason}"))


def upgrade():
    _close_older_duplicates(op.get_bind())
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.create_index('uq_access_requests_company_id_email_pending', ['company_id', 'email'], unique=True,
                              postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))


def downgrade():
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_access_requests_company_id_email_pending')
