"""Reopened tasks: a run's count of plugin tasks reopened (completed, then their commitment lost again), and
which task keys the plugin itself completed (because their commitment was secured) rather than a rep.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server default, so the runs recorded before it read 0 (none of them reopened a task).
    op.add_column(
        "runs", sa.Column("tasks_reopened", sa.Integer, nullable=False, server_default=sa.text("0"))
    )
    # Keys completed before it read as not completed by the plugin: at worst such a task is not reopened.
    op.add_column(
        "task_keys",
        sa.Column("completed_by_plugin", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("task_keys") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("completed_by_plugin")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("tasks_reopened")
