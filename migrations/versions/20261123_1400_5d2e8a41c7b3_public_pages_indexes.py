"""Public pages: indexes for the roadmap columns and Ideas in Action.

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


def upgrade():
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        batch_op.create_index('ix_ideas_status_score', ['status', 'score'], unique=False)
        batch_op.create_index('ix_ideas_status_status_changed_at', ['status', 'status_changed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        batch_op.drop_index('ix_ideas_status_status_changed_at')
        batch_op.drop_index('ix_ideas_status_score')
