"""Comments can be edited and deleted by their authors.

Revision ID: b2d5f8a0c3e1
Revises: a1c4e7b9d2f0
Create Date: 2026-12-01 13:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2d5f8a0c3e1'
down_revision = 'a1c4e7b9d2f0'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
