"""A maintenance window covers every monitor of its owner (``all_monitors``) or the ones listed in
``maintenance_window_monitors``, as many as the owner chooses; ``monitor_id`` (one monitor, or NULL for all)
goes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FK = "fk_maintenance_windows_monitor_id_monitors"


def upgrade():
    op.create_table(
        "maintenance_window_monitors",
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["maintenance_windows.id"],
            name=op.f("fk_maintenance_window_monitors_window_id_maintenance_windows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitors.id"],
            name=op.f("fk_maintenance_window_monitors_monitor_id_monitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("window_id", "monitor_id", name=op.f("pk_maintenance_window_monitors")),
    )
    op.create_index(op.f("ix_maintenance_window_monitors_monitor_id"), "maintenance_window_monitors", ["monitor_id"])
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.add_column(sa.Column("all_monitors", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "INSERT INTO maintenance_window_monitors (window_id, monitor_id)"
        " SELECT id, monitor_id FROM maintenance_windows WHERE monitor_id IS NOT NULL"
    )
    op.execute("UPDATE maintenance_windows SET all_monitors = 1 WHERE monitor_id IS NULL")
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.drop_constraint(FK, type_="foreignkey")
        batch.drop_index("ix_maintenance_windows_monitor_id")
        batch.drop_column("monitor_id")


def downgrade():
    """A window of several monitors keeps the one with the lowest id (the older code knows one or all)."""
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.add_column(sa.Column("monitor_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(FK, "monitors", ["monitor_id"], ["id"], ondelete="CASCADE")
        batch.create_index("ix_maintenance_windows_monitor_id", ["monitor_id"])
    op.execute(
        "UPDATE maintenance_windows SET monitor_id = (SELECT MIN(monitor_id) FROM maintenance_window_monitors"
        " WHERE window_id = maintenance_windows.id)"
    )
    op.execute("DELETE FROM maintenance_windows WHERE all_monitors = 0 AND monitor_id IS NULL")
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.drop_column("all_monitors")
    op.drop_table("maintenance_window_monitors")
