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
    pass


def downgrade():
    pass
