"""Following, notifications and email: follows, watched categories, notifications, the email
queue; members' handles, email verification, session versions and notification settings.

Revision ID: d4f7b0c2e5a3
Revises: c3e6a9b1d4f2
Create Date: 2026-12-01 14:00:00

"""
from alembic import op
import sqlalchemy as sa
from slugify import slugify

FREQUENCY_COLUMNS = ("email_status", "email_comments", "email_mentions", "email_new_ideas")


# revision identifiers, used by Alembic.
revision = 'd4f7b0c2e5a3'
down_revision = 'c3e6a9b1d4f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('category_watches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_category_watches_category_id_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_category_watches_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category_watches')),
    sa.UniqueConstraint('user_id', 'category_id', name=op.f('uq_category_watches_user_id_category_id'))
    )
    with op.batch_alter_table('category_watches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_category_watches_category_id'), ['category_id'], unique=False)

    op.create_table('follows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=12), nullable=False),
    sa.Column('merge_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_follows_idea_id_ideas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['merge_id'], ['duplicate_merges.id'], name=op.f('fk_follows_merge_id_duplicate_merges'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_follows_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follows')),
    sa.UniqueConstraint('user_id', 'idea_id', name=op.f('uq_follows_user_id_idea_id'))
    )
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.create_index('ix_follows_idea_id', ['idea_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('digest_day', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_notifications_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_notifications_comment_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_notifications_idea_id_ideas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('event_id', 'user_id', 'kind', name=op.f('uq_notifications_event_id_user_id_kind'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_digest', ['digest_day', 'user_id'], unique=False)
        batch_op.create_index('ix_notifications_unread', ['user_id'], unique=False, sqlite_where=sa.text('read_at IS NULL'), postgresql_where=sa.text('read_at IS NULL'))
        batch_op.create_index('ix_notifications_user_id_id', ['user_id', 'id'], unique=False)

    op.create_table('outgoing_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.Column('digest_day', sa.Date(), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sending_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('interrupted_at', sa.DateTime(), nullable=True),
    sa.Column('skipped_reason', sa.String(length=40), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_outgoing_emails_notification_id_notifications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_outgoing_emails_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_emails')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outgoing_emails_message_id')),
    sa.UniqueConstraint('notification_id', name=op.f('uq_outgoing_emails_notification_id')),
    sa.UniqueConstraint('user_id', 'digest_day', name=op.f('uq_outgoing_emails_user_id_digest_day'))
    )
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_emails_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('site_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_verified_email', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handle', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('follow_on_submit', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('follow_on_vote', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('follow_on_comment', sa.Boolean(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('email_status', sa.String(length=10), server_default='immediate', nullable=False))
        batch_op.add_column(sa.Column('email_comments', sa.String(length=10), server_default='daily', nullable=False))
        batch_op.add_column(sa.Column('email_mentions', sa.String(length=10), server_default='immediate', nullable=False))
        batch_op.add_column(sa.Column('email_new_ideas', sa.String(length=10), server_default='daily', nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_users_handle'), ['handle'])
        for column in FREQUENCY_COLUMNS:
            batch_op.create_check_constraint(
                f"{column}_known", f"{column} IN ('immediate', 'daily', 'never')")

    _give_every_member_a_handle()


def _give_every_member_a_handle():
    """The same rule as accounts.services.unique_handle, written out so this step never changes."""
    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("display_name", sa.String),
                     sa.column("handle", sa.String))
    taken = set()
    for user_id, name in connection.execute(sa.select(users.c.id, users.c.display_name).order_by(users.c.id)):
        base = slugify(name or "", max_length=30, word_boundary=True) or "member"
        handle, n = base, 1
        while handle in taken:
            n += 1
            handle = f"{base}-{n}"
        taken.add(handle)
        connection.execute(sa.update(users).where(users.c.id == user_id).values(handle=handle))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        for column in FREQUENCY_COLUMNS:
            batch_op.drop_constraint(batch_op.f(f"ck_users_{column}_known"), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_users_handle'), type_='unique')
        batch_op.drop_column('email_new_ideas')
        batch_op.drop_column('email_mentions')
        batch_op.drop_column('email_comments')
        batch_op.drop_column('email_status')
        batch_op.drop_column('follow_on_comment')
        batch_op.drop_column('follow_on_vote')
        batch_op.drop_column('follow_on_submit')
        batch_op.drop_column('session_version')
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('handle')

    with op.batch_alter_table('site_settings', schema=None) as batch_op:
        batch_op.drop_column('require_verified_email')

    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_emails_user_id'))

    op.drop_table('outgoing_emails')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_id_id')
        batch_op.drop_index('ix_notifications_unread', sqlite_where=sa.text('read_at IS NULL'), postgresql_where=sa.text('read_at IS NULL'))
        batch_op.drop_index('ix_notifications_digest')

    op.drop_table('notifications')
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.drop_index('ix_follows_idea_id')

    op.drop_table('follows')
    with op.batch_alter_table('category_watches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_category_watches_category_id'))

    op.drop_table('category_watches')
