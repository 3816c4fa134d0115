"""Monitors may show their status and uptime as public SVG badges (``public_badges``, off by default).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("public_badges", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("public_badges")
