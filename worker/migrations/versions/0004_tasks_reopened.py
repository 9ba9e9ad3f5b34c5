"""tasks_reopened: a run's count of plugin tasks reopened (completed, then their commitment lost again).

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


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("tasks_reopened")
