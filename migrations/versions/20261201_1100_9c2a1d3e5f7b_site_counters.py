"""Site counters: the headline's figures kept exact in the transaction of each change.

Revision ID: 9c2a1d3e5f7b
Revises: 8b1f0c2d4e6a
Create Date: 2026-12-01 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c2a1d3e5f7b'
down_revision = '8b1f0c2d4e6a'
branch_labels = None
depends_on = None


def upgrade():
    counters = op.create_table(
        'site_counters',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_site_counters')),
    )
    # Start from what the ideas table holds: public ideas, and public implemented ones.
    ideas = sa.table('ideas', sa.column('status', sa.String), sa.column('is_hidden', sa.Boolean))
    connection = op.get_bind()
    submitted, implemented = connection.execute(
        sa.select(sa.func.count(), sa.func.count().filter(ideas.c.status == 'implemented'))
        .where(ideas.c.is_hidden.is_(False))
    ).one()
    op.bulk_insert(counters, [
        {'name': 'submitted', 'value': submitted},
        {'name': 'implemented', 'value': implemented},
    ])


def downgrade():
    op.drop_table('site_counters')
