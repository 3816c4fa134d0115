"""Pings bounded per monitor and counted across processes; what the database would not store, shown to owners.

- ``monitors.ping_seq``: the pings a heartbeat has stored; each ping carries its number (``pings.seq``), and
  those past the newest ``monitors.pings_kept`` are deleted as new ones come.  Pings stored before this take
  their id as their number (ids grow per monitor too), and ``ping_seq`` the greatest.
- ``monitors.ping_window_at``, ``ping_window_count``: the minute a heartbeat's pings are counted in, on the
  row, so ``monitors.pings_per_minute`` holds for all processes together.
- ``pings.body``: MEDIUMTEXT on MySQL/MariaDB (TEXT holds 65,535 bytes; a body may be 100,000).
- ``write_errors``: a ping or a check's result the database refused, for its monitor's owner to see.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("ping_seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("ping_window_at", MOMENT, nullable=True))
        batch.add_column(sa.Column("ping_window_count", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("pings") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch.alter_column(
            "body", existing_type=sa.Text(), type_=sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
        )
    op.execute("UPDATE pings SET seq = id")
    op.execute(
        "UPDATE monitors SET ping_seq = COALESCE((SELECT MAX(pings.id) FROM pings WHERE pings.monitor_id = monitors.id), 0)"
    )
    op.create_table(
        "write_errors",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("what", sa.String(length=10), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_write_errors_monitor_id_monitors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_errors")),
    )
    op.create_index("ix_write_errors_monitor_id_id", "write_errors", ["monitor_id", "id"])
    op.create_index(op.f("ix_write_errors_at"), "write_errors", ["at"])


def downgrade():
    op.drop_index(op.f("ix_write_errors_at"), table_name="write_errors")
    op.drop_index("ix_write_errors_monitor_id_id", table_name="write_errors")
    op.drop_table("write_errors")
    with op.batch_alter_table("pings") as batch:
        batch.alter_column(
            "body", existing_type=sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), type_=sa.Text()
        )
        batch.drop_column("seq")
    with op.batch_alter_table("monitors") as batch:
        batch.drop_column("ping_window_count")
        batch.drop_column("ping_window_at")
        batch.drop_column("ping_seq")
