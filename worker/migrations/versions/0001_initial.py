"""The whole first schema: connections, runs, failures, watermarks, retries, task keys, assessments,
commitment history, schedules and locks.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _connection_fk(primary_key: bool = False) -> sa.Column[int]:
    return sa.Column(
        "connection_id",
        sa.Integer,
        sa.ForeignKey("connections.id", ondelete="CASCADE", name=None),
        primary_key=primary_key,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        _connection_fk(),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("deals_read", sa.Integer, nullable=False),
        sa.Column("deals_assessed", sa.Integer, nullable=False),
        sa.Column("deals_changed", sa.Integer, nullable=False),
        sa.Column("fields_written", sa.Integer, nullable=False),
        sa.Column("tasks_created", sa.Integer, nullable=False),
        sa.Column("tasks_completed", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("api_calls", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("duration_s", sa.Float),
    )
    op.create_index("ix_runs_connection_started", "runs", ["connection_id", "started_at"])
    op.create_table(
        "run_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("deal_id", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64)),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_run_failures_run_id", "run_failures", ["run_id"])
    op.create_table(
        "watermarks",
        _connection_fk(primary_key=True),
        sa.Column("value", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "pending_retries",
        _connection_fk(primary_key=True),
        sa.Column("deal_id", sa.String(64), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("first_failed_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
    )
    op.create_table(
        "task_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        _connection_fk(),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("deal_id", sa.String(64), nullable=False),
        sa.Column("commitment", sa.String(16), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("completed_at", TS),
        sa.UniqueConstraint("connection_id", "key", name="uq_task_keys_connection_key"),
    )
    op.create_table(
        "deal_assessments",
        _connection_fk(primary_key=True),
        sa.Column("deal_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("stage", sa.String(120), nullable=False),
        sa.Column("pipeline", sa.String(120), nullable=False),
        sa.Column("owner_id", sa.String(64)),
        sa.Column("is_closed", sa.Boolean, nullable=False),
        sa.Column("secured", sa.Text, nullable=False),
        sa.Column("missing", sa.Text, nullable=False),
        sa.Column("next", sa.String(16)),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("stage_gap", sa.Boolean, nullable=False),
        sa.Column("assessed_at", TS, nullable=False),
        sa.Column("results", sa.JSON, nullable=False),
    )
    op.create_index("ix_deal_assessments_connection_stage", "deal_assessments", ["connection_id", "stage"])
    op.create_table(
        "commitment_history",
        _connection_fk(primary_key=True),
        sa.Column("deal_id", sa.String(64), primary_key=True),
        sa.Column("commitment", sa.String(16), primary_key=True),
        sa.Column("first_secured_at", TS, nullable=False),
        sa.Column("lost_at", TS),
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer, primary_key=True),
        _connection_fk(),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("cron", sa.String(120)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("interval_seconds", sa.Integer),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_schedules_connection_id", "schedules", ["connection_id"])
    op.create_table(
        "locks",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("acquired_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "locks",
        "schedules",
        "commitment_history",
        "deal_assessments",
        "task_keys",
        "pending_retries",
        "watermarks",
        "run_failures",
        "runs",
        "connections",
    ):
        op.drop_table(table)
