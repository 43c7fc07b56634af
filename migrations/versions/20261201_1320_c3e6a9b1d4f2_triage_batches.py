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
    pass


def downgrade():
    pass
