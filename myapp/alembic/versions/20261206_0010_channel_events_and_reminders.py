"""Channels choose their events (``events``: comma-separated, NULL for all) and may remind while a monitor
stays DOWN (``remind_every``, seconds).  Apprise channels need no column of their own: the kind and its URL
fit ``kind`` and ``target``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("events", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("remind_every", sa.Integer(), nullable=True))


def downgrade():
    apprise = "SELECT id FROM channels WHERE kind = 'apprise'"  # a kind the older code does not know
    for table in ("delivery_attempts", "deliveries", "monitor_channels"):
        column = "delivery_id" if table == "delivery_attempts" else "channel_id"
        inner = (
            f"SELECT id FROM deliveries WHERE channel_id IN ({apprise})" if table == "delivery_attempts" else apprise
        )
        op.execute(f"DELETE FROM {table} WHERE {column} IN ({inner})")
    op.execute(apprise.replace("SELECT id", "DELETE", 1))
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("remind_every")
        batch.drop_column("events")
