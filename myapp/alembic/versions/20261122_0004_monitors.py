"""Monitors: monitors, check_results, incidents, rollups_hourly, rollups_daily.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
COUNTERS = ("checks", "passes", "slow", "latency_sum", *(f"b{n}" for n in range(12)))


def upgrade():
    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("expect_status", sa.String(length=200), nullable=False),
        sa.Column("keyword", sa.String(length=200), nullable=True),
        sa.Column("keyword_absent", sa.String(length=200), nullable=True),
        sa.Column("json_path", sa.String(length=200), nullable=True),
        sa.Column("json_value", sa.String(length=200), nullable=True),
        sa.Column("degraded_ms", sa.Integer(), nullable=True),
        sa.Column("tls_days", sa.Integer(), nullable=False),
        sa.Column("failures_to_down", sa.Integer(), nullable=False),
        sa.Column("successes_to_up", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("state_since", MOMENT, nullable=False),
        sa.Column("fail_streak", sa.Integer(), nullable=False),
        sa.Column("pass_streak", sa.Integer(), nullable=False),
        sa.Column("streak_started_at", MOMENT, nullable=True),
        sa.Column("streak_error", sa.String(length=300), nullable=True),
        sa.Column("last_check_at", MOMENT, nullable=True),
        sa.Column("last_ok", sa.Boolean(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_latency_ms", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("due_at", MOMENT, nullable=True),
        sa.Column("next_check_at", MOMENT, nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_monitors_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
    )
    op.create_index(op.f("ix_monitors_due_at"), "monitors", ["due_at"])
    op.create_index(op.f("ix_monitors_user_id"), "monitors", ["user_id"])

    op.create_table(
        "check_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("slow", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_check_results_monitor_id_monitors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_results")),
    )
    op.create_index(op.f("ix_check_results_at"), "check_results", ["at"])
    op.create_index("ix_check_results_monitor_id_id", "check_results", ["monitor_id", "id"])

    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("started_at", MOMENT, nullable=False),
        sa.Column("ended_at", MOMENT, nullable=True),
        sa.Column("cause", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_incidents_monitor_id_monitors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index("ix_incidents_monitor_id_ended_at", "incidents", ["monitor_id", "ended_at"])

    for table in ("rollups_hourly", "rollups_daily"):
        op.create_table(
            table,
            sa.Column("monitor_id", sa.Integer(), nullable=False),
            sa.Column("period", MOMENT, nullable=False),
            *(
                sa.Column(name, sa.BigInteger() if name == "latency_sum" else sa.Integer(), nullable=False)
                for name in COUNTERS
            ),
            sa.ForeignKeyConstraint(
                ["monitor_id"], ["monitors.id"], name=op.f(f"fk_{table}_monitor_id_monitors"), ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint("monitor_id", "period", name=op.f(f"pk_{table}")),
        )


def downgrade():
    op.drop_table("rollups_daily")
    op.drop_table("rollups_hourly")
    op.drop_table("incidents")
    op.drop_table("check_results")
    op.drop_table("monitors")
