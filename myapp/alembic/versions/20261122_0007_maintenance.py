"""Maintenance windows, and room for the MAINTENANCE state.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("starts_at", MOMENT, nullable=True),
        sa.Column("ends_at", MOMENT, nullable=True),
        sa.Column("days", sa.String(length=30), nullable=True),
        sa.Column("start_time", sa.String(length=5), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_maintenance_windows_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_maintenance_windows_monitor_id_monitors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    op.create_index(op.f("ix_maintenance_windows_user_id"), "maintenance_windows", ["user_id"])
    op.create_index(op.f("ix_maintenance_windows_monitor_id"), "maintenance_windows", ["monitor_id"])
    with op.batch_alter_table("monitors") as batch:
        batch.alter_column(
            "state", existing_type=sa.String(length=10), type_=sa.String(length=12), existing_nullable=False
        )


def downgrade():
    op.execute("UPDATE monitors SET state = 'PENDING' WHERE state = 'MAINTENANCE'")
    with op.batch_alter_table("monitors") as batch:
        batch.alter_column(
            "state", existing_type=sa.String(length=12), type_=sa.String(length=10), existing_nullable=False
        )
    op.drop_table("maintenance_windows")
