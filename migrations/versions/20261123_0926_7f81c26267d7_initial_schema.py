"""Initial schema: accounts, categories, ideas, tags, votes, comments, status history, outbox.

It also inserts the default categories (a copy of ideastorm/ideas/defaults.py as of this revision).

Revision ID: 7f81c26267d7
Revises: 
Create Date: 2026-11-23 09:26:10.507510

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '7f81c26267d7'
down_revision = None
branch_labels = None
depends_on = None

DEFAULT_CATEGORIES = [
    ("products", "Products", "Hardware and the software that ships with it."),
    ("support", "Support & services", "Help, warranty, repairs and returns."),
    ("store", "Online store", "Buying, ordering, delivery and billing."),
    ("apps", "Apps & portals", "Our websites, portals and mobile apps."),
    ("business", "Business & IT", "Fleet management and enterprise needs."),
    ("sustainability", "Sustainability", "Packaging, energy, recycling and repair."),
    ("other", "Other", "Anything that fits nowhere else."),
]


def upgrade():
    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_categories_slug'))
    )
    categories = sa.table(
        "categories", sa.column("slug", sa.String), sa.column("name", sa.String),
        sa.column("description", sa.String), sa.column("position", sa.Integer),
        sa.column("is_archived", sa.Boolean), sa.column("created_at", sa.DateTime),
    )
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(categories, [
        {"slug": slug, "name": name, "description": description, "position": position,
         "is_archived": False, "created_at": now}
        for position, (slug, name, description) in enumerate(DEFAULT_CATEGORIES)
    ])
    op.create_table('outbox_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=60), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_events'))
    )
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_events_pending', ['processed_at', 'id'], unique=False)

    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('name', name=op.f('uq_tags_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=60), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('is_banned', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("role IN ('member', 'staff', 'admin')", name=op.f('ck_users_role_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('ideas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=140), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=True),
    sa.Column('promote_count', sa.Integer(), nullable=False),
    sa.Column('demote_count', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment_count', sa.Integer(), nullable=False),
    sa.Column('trending', sa.Float(), nullable=False),
    sa.Column('is_hidden', sa.Boolean(), nullable=False),
    sa.Column('comments_locked', sa.Boolean(), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('new', 'under_review', 'planned', 'in_progress', 'implemented', 'declined', 'duplicate')", name=op.f('ck_ideas_status_known')),
    sa.CheckConstraint('promote_count >= 0 AND demote_count >= 0', name=op.f('ck_ideas_counts_positive')),
    sa.CheckConstraint('score = promote_count - demote_count', name=op.f('ck_ideas_score_consistent')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_ideas_author_id_users')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_ideas_category_id_categories')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['ideas.id'], name=op.f('fk_ideas_duplicate_of_id_ideas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ideas'))
    )
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ideas_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ideas_category_id'), ['category_id'], unique=False)
        batch_op.create_index('ix_ideas_comment_count', ['comment_count'], unique=False)
        batch_op.create_index('ix_ideas_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ideas_duplicate_of_id'), ['duplicate_of_id'], unique=False)
        batch_op.create_index('ix_ideas_score', ['score'], unique=False)
        batch_op.create_index('ix_ideas_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_ideas_trending', ['trending'], unique=False)

    op.create_table('comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('is_hidden', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_comments_author_id_users')),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_comments_idea_id_ideas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comments'))
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comments_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_comments_idea_id_created_at', ['idea_id', 'created_at'], unique=False)

    op.create_table('idea_tags',
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_idea_tags_idea_id_ideas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_idea_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('idea_id', 'tag_id', name=op.f('pk_idea_tags'))
    )
    with op.batch_alter_table('idea_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idea_tags_tag_id'), ['tag_id'], unique=False)

    op.create_table('status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("to_status IN ('new', 'under_review', 'planned', 'in_progress', 'implemented', 'declined', 'duplicate')", name=op.f('ck_status_changes_to_status_known')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_status_changes_actor_id_users')),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_status_changes_idea_id_ideas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_changes'))
    )
    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        batch_op.create_index('ix_status_changes_idea_id_created_at', ['idea_id', 'created_at'], unique=False)

    op.create_table('votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.SmallInteger(), nullable=False),
    sa.Column('voted_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('value IN (-1, 1)', name=op.f('ck_votes_value_is_promote_or_demote')),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_votes_idea_id_ideas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_votes')),
    sa.UniqueConstraint('idea_id', 'user_id', name=op.f('uq_votes_idea_id_user_id'))
    )
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.create_index('ix_votes_user_id', ['user_id'], unique=False)
        batch_op.create_index('ix_votes_voted_at', ['voted_at'], unique=False)



def downgrade():
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index('ix_votes_voted_at')
        batch_op.drop_index('ix_votes_user_id')

    op.drop_table('votes')
    with op.batch_alter_table('status_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_status_changes_idea_id_created_at')

    op.drop_table('status_changes')
    with op.batch_alter_table('idea_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idea_tags_tag_id'))

    op.drop_table('idea_tags')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('ix_comments_idea_id_created_at')
        batch_op.drop_index(batch_op.f('ix_comments_author_id'))

    op.drop_table('comments')
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        batch_op.drop_index('ix_ideas_trending')
        batch_op.drop_index('ix_ideas_status_created_at')
        batch_op.drop_index('ix_ideas_score')
        batch_op.drop_index(batch_op.f('ix_ideas_duplicate_of_id'))
        batch_op.drop_index('ix_ideas_created_at')
        batch_op.drop_index('ix_ideas_comment_count')
        batch_op.drop_index(batch_op.f('ix_ideas_category_id'))
        batch_op.drop_index(batch_op.f('ix_ideas_author_id'))

    op.drop_table('ideas')
    op.drop_table('users')
    op.drop_table('tags')
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_events_pending')

    op.drop_table('outbox_events')
    op.drop_table('categories')
