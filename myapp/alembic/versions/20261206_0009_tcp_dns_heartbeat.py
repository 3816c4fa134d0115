"""Monitors of other kinds than HTTP (monitors.kinds): TCP (host, port, a TLS handshake), DNS (a name, a
record type, a resolver, the values expected) and heartbeats (a grace, a cron schedule in a time zone, the
ping token and its hash, the start of a run), and the heartbeats' pings.  A monitor of another kind has
no URL.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.alter_column("url", existing_type=sa.String(length=2048), nullable=True)
        batch.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("port", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tls", sa.Boolean(), server_default="0", nullable=False))
        batch.add_column(sa.Column("record_type", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("resolver", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("expected", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("grace", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cron", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("ping_token", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("ping_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("run_started_at", MOMENT, nullable=True))
        batch.create_unique_constraint(batch.f("uq_monitors_ping_hash"), ["ping_hash"])
    op.create_table(
        "pings",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("event", sa.String(length=8), nullable=False),
        sa.Column("exit_status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_pings_monitor_id_monitors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pings")),
    )
    op.create_index("ix_pings_monitor_id_id", "pings", ["monitor_id", "id"])
    op.create_index(op.f("ix_pings_at"), "pings", ["at"])


def downgrade():
    op.drop_index(op.f("ix_pings_at"), table_name="pings")
    op.drop_index("ix_pings_monitor_id_id", table_name="pings")
    op.drop_table("pings")
    op.execute("DELETE FROM monitors WHERE url IS NULL")  # monitors of other kinds than HTTP cannot stay
    with op.batch_alter_table("monitors") as batch:
        batch.drop_constraint(batch.f("uq_monitors_ping_hash"), type_="unique")
        for name in (
            "run_started_at",
            "ping_hash",
            "ping_token",
            "timezone",
            "cron",
            "grace",
            "expected",
            "resolver",
            "record_type",
            "tls",
            "port",
            "host",
        ):
            batch.drop_column(name)
        batch.alter_column("url", existing_type=sa.String(length=2048), nullable=False)
