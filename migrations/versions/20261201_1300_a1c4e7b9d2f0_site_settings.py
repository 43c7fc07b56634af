"""Site settings (name, logo, accent colour, welcome text) and French category names.

Revision ID: a1c4e7b9d2f0
Revises: 9c2a1d3e5f7b
Create Date: 2026-12-01 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c4e7b9d2f0'
down_revision = '9c2a1d3e5f7b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'site_settings',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('logo_file', sa.String(length=80), nullable=True),
        sa.Column('accent', sa.String(length=7), nullable=False),
        sa.Column('welcome_en', sa.Text(), nullable=True),
        sa.Column('welcome_fr', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_site_settings_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site_settings')),
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_fr', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('description_fr', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('description_fr')
        batch_op.drop_column('name_fr')
    op.drop_table('site_settings')
