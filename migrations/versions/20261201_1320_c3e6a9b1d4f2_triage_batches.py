"""Bulk triage batches, so one action can be undone as a whole.

Revision ID: c3e6a9b1d4f2
Revises: b2d5f8a0c3e1
Create Date: 2026-12-01 13:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3e6a9b1d4f2'
down_revision = 'b2d5f8a0c3e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('triage_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_triage_batches_actor_id_users')),
    sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], name=op.f('fk_triage_batches_undone_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triage_batches'))
    )
    with op.batch_alter_table('triage_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_triage_batches_actor_id'), ['actor_id'], unique=False)

    op.create_table('triage_batch_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('previous_status', sa.String(length=20), nullable=False),
    sa.Column('previous_status_changed_at', sa.DateTime(), nullable=True),
    sa.Column('previous_category_id', sa.Integer(), nullable=True),
    sa.Column('status_change_id', sa.Integer(), nullable=True),
    sa.Column('added_tag_id', sa.Integer(), nullable=True),
    sa.Column('after_status', sa.String(length=20), nullable=False),
    sa.Column('after_category_id', sa.Integer(), nullable=True),
    sa.Column('last_change_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['triage_batches.id'], name=op.f('fk_triage_batch_items_batch_id_triage_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_triage_batch_items_idea_id_ideas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triage_batch_items'))
    )
    with op.batch_alter_table('triage_batch_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_triage_batch_items_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_triage_batch_items_idea_id'), ['idea_id'], unique=False)
    # The idea page's timeline lists the duplicates merged into the idea.
    with op.batch_alter_table('duplicate_merges', schema=None) as batch_op:
        batch_op.create_index('ix_duplicate_merges_original_id', ['original_id'], unique=False)


def downgrade():
    with op.batch_alter_table('duplicate_merges', schema=None) as batch_op:
        batch_op.drop_index('ix_duplicate_merges_original_id')

    with op.batch_alter_table('triage_batch_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_triage_batch_items_idea_id'))
        batch_op.drop_index(batch_op.f('ix_triage_batch_items_batch_id'))

    op.drop_table('triage_batch_items')
    with op.batch_alter_table('triage_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_triage_batches_actor_id'))

    op.drop_table('triage_batches')
