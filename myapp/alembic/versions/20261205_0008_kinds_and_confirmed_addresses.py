"""A monitor's kind (monitors.kinds): every monitor so far is an HTTP(S) check.  A channel's address is
confirmed by its owner before it receives alerts: every channel so far is taken as confirmed (they were
in use; turning them off would lose alerts).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), server_default="http", nullable=False))
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("confirmed_at", MOMENT, nullable=True))
        batch.add_column(sa.Column("confirm_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f("uq_channels_confirm_hash"), ["confirm_hash"])
    op.execute("UPDATE channels SET confirmed_at = created_at")


def downgrade():
    with op.batch_alter_table("channels") as batch:
        batch.drop_constraint(batch.f("uq_channels_confirm_hash"), type_="unique")
        batch.drop_column("confirm_hash")
        batch.drop_column("confirmed_at")
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("kind")
