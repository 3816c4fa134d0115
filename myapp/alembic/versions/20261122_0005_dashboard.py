"""The dashboard: monitors.recent (sparklines), an index by owner, state and name (the dashboard's order), status pages.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table("monitors") as batch:
        batch.add_column(sa.Column("recent", sa.String(length=255), nullable=False, server_default=""))
        batch.create_index("ix_monitors_user_id_state_name", ["user_id", "state", "name"])
        batch.drop_index("ix_monitors_user_id")  # the new index starts with user_id
    op.create_table(
        "status_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("show_urls", sa.Boolean(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_status_pages_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_pages")),
        sa.UniqueConstraint("slug", name=op.f("uq_status_pages_slug")),
    )
    op.create_index(op.f("ix_status_pages_user_id"), "status_pages", ["user_id"])
    op.create_table(
        "status_page_monitors",
        sa.Column("status_page_id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["status_page_id"],
            ["status_pages.id"],
            name=op.f("fk_status_page_monitors_status_page_id_status_pages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitors.id"],
            name=op.f("fk_status_page_monitors_monitor_id_monitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("status_page_id", "monitor_id", name=op.f("pk_status_page_monitors")),
    )
    op.create_index(op.f("ix_status_page_monitors_monitor_id"), "status_page_monitors", ["monitor_id"])


def downgrade():
    op.drop_table("status_page_monitors")
    op.drop_table("status_pages")
    with op.batch_alter_table("monitors") as batch:
        batch.create_index("ix_monitors_user_id", ["user_id"])
        batch.drop_index("ix_monitors_user_id_state_name")
        batch.drop_column("recent")
