"""Indexes for every list order (the id tie-breaker; roadmap, Ideas in Action); votes by time, covering.

Revision ID: 5d2e8a41c7b3
Revises: 3c11277d6e82
Create Date: 2026-11-23 14:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5d2e8a41c7b3'
down_revision = '3c11277d6e82'
branch_labels = None
depends_on = None

# index name -> (columns before, columns after); the list sorts break ties by id.
EXTENDED = {
    'ix_ideas_trending': (['trending'], ['trending', 'id']),
    'ix_ideas_score': (['score'], ['score', 'id']),
    'ix_ideas_created_at': (['created_at'], ['created_at', 'id']),
    'ix_ideas_comment_count': (['comment_count'], ['comment_count', 'id']),
    'ix_ideas_status_created_at': (['status', 'created_at'], ['status', 'created_at', 'id']),
}
# Period leaderboards and monthly stats read (voted_at, idea_id, value) from the index alone.
VOTES_BY_TIME = (['voted_at'], ['voted_at', 'idea_id', 'value'])
NEW = {
    'ix_ideas_status_score': ['status', 'score', 'id'],
    'ix_ideas_status_status_changed_at': ['status', 'status_changed_at', 'id'],
}


def upgrade():
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        for name, (_before, after) in EXTENDED.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, after, unique=False)
        for name, columns in NEW.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index('ix_votes_voted_at')
        batch_op.create_index('ix_votes_voted_at', VOTES_BY_TIME[1], unique=False)


def downgrade():
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index('ix_votes_voted_at')
        batch_op.create_index('ix_votes_voted_at', VOTES_BY_TIME[0], unique=False)
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        for name in NEW:
            batch_op.drop_index(name)
        for name, (before, _after) in EXTENDED.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, before, unique=False)
