"""Outbox deliveries: one row per event and subscriber, with its own attempts, backoff, lease and dead state.

Events still pending get a delivery for the search indexer (the only subscriber until now),
due at once; events already processed are deleted (nothing is left to do for them). The
per-event columns processed_at, attempts and last_error move to the deliveries.

Revision ID: 8b1f0c2d4e6a
Revises: 5d2e8a41c7b3
Create Date: 2026-12-01 10:00:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '8b1f0c2d4e6a'
down_revision = '5d2e8a41c7b3'
branch_labels = None
depends_on = None

# The search indexer's name and topics as of this revision (ideastorm/search/indexer.py).
SEARCH_INDEX = 'search-index'
SEARCH_TOPICS = (
    'idea.created', 'idea.updated', 'idea.voted', 'idea.commented', 'idea.status_changed', 'idea.visibility',
    'category.updated', 'user.updated',
)
PENDING = 'delivered_at IS NULL AND dead_at IS NULL'
DEAD = 'dead_at IS NOT NULL'


def _now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def upgrade():
    events = sa.table('outbox_events', sa.column('id', sa.Integer()), sa.column('topic', sa.String()),
                      sa.column('processed_at', sa.DateTime()), sa.column('last_error', sa.Text()))
    connection = op.get_bind()
    pending = connection.execute(
        sa.select(events.c.id, events.c.last_error)
        .where(events.c.processed_at.is_(None), events.c.topic.in_(SEARCH_TOPICS))
        .order_by(events.c.id)
    ).all()
    op.execute(events.delete().where(events.c.processed_at.is_not(None)))
    # Before the deliveries exist: on SQLite, batch mode copies the table and drops the old
    # one, which would cascade to rows referring to it.
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_events_pending')
        batch_op.drop_column('processed_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('last_error')

    deliveries = op.create_table('outbox_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('subscriber', sa.String(length=60), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('leased_until', sa.DateTime(), nullable=True),
    sa.Column('leased_by', sa.String(length=120), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('dead_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['outbox_events.id'],
                            name=op.f('fk_outbox_deliveries_event_id_outbox_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_deliveries')),
    sa.UniqueConstraint('event_id', 'subscriber', name=op.f('uq_outbox_deliveries_event_id_subscriber'))
    )
    with op.batch_alter_table('outbox_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_deliveries_due', ['subscriber', 'next_attempt_at'], unique=False,
                              sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
        batch_op.create_index('ix_outbox_deliveries_dead', ['dead_at'], unique=False,
                              sqlite_where=sa.text(DEAD), postgresql_where=sa.text(DEAD))
        batch_op.create_index('ix_outbox_deliveries_delivered', ['subscriber', 'delivered_at'], unique=False)

    # Attempts start again from zero: re-indexing is harmless, and the old cap was per event.
    now = _now()
    if pending:
        op.bulk_insert(deliveries, [
            {'event_id': event_id, 'subscriber': SEARCH_INDEX, 'attempts': 0, 'next_attempt_at': now,
             'last_error': last_error}
            for event_id, last_error in pending
        ])


def downgrade():
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('processed_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_outbox_events_pending', ['processed_at', 'id'], unique=False)

    # An event is processed once none of its deliveries is left to make (dead ones count as left).
    op.execute(sa.text(
        "UPDATE outbox_events SET processed_at = (SELECT max(d.delivered_at) FROM outbox_deliveries d "
        "WHERE d.event_id = outbox_events.id) "
        "WHERE NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_id = outbox_events.id "
        "AND d.delivered_at IS NULL)"
    ))
    op.execute(sa.text(
        "UPDATE outbox_events SET processed_at = :now WHERE processed_at IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM outbox_deliveries d WHERE d.event_id = outbox_events.id)"
    ).bindparams(sa.bindparam('now', _now(), type_=sa.DateTime())))

    with op.batch_alter_table('outbox_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_deliveries_delivered')
        batch_op.drop_index('ix_outbox_deliveries_dead',
                            sqlite_where=sa.text(DEAD), postgresql_where=sa.text(DEAD))
        batch_op.drop_index('ix_outbox_deliveries_due',
                            sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    op.drop_table('outbox_deliveries')
