"""Count customers who read a message in a column, and index current messages by Expires On

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 07:10:00

Message History showed a COUNT(DISTINCT customer_id) over the reads for every page; with a
million reads that aggregate was most of the page's cost. `message_customer_reads` holds the
first read per (message, customer) and `messages.customers_read` counts its rows.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'message_customer_reads',
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('first_read_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_message_customer_reads_customer_id_customers'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'],
                                name=op.f('fk_message_customer_reads_message_id_messages'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('message_id', 'customer_id', name=op.f('pk_message_customer_reads')),
    )
    with op.batch_alter_table('message_customer_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_customer_reads_customer_id'), ['customer_id'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customers_read', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_index('ix_messages_company_publish_expires')
        batch_op.create_index('ix_messages_company_expires_publish', ['company_id', 'expires_on', 'publish_on'],
                              unique=False)

    op.execute("""
        INSERT INTO message_customer_reads (message_id, customer_id, first_read_at)
        SELECT message_id, customer_id, min(read_at) FROM message_reads GROUP BY message_id, customer_id
    """)
    op.execute("""
        UPDATE messages SET customers_read = (
            SELECT count(*) FROM message_customer_reads WHERE message_customer_reads.message_id = messages.id)
    """)


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_company_expires_publish')
        batch_op.create_index('ix_messages_company_publish_expires', ['company_id', 'publish_on', 'expires_on'],
                              unique=False)
        batch_op.drop_column('customers_read')

    with op.batch_alter_table('message_customer_reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_customer_reads_customer_id'))
    op.drop_table('message_customer_reads')
