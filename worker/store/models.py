"""The state store's tables as SQLAlchemy 2 typed models.

One model per table; the schema itself is created by the Alembic migrations in worker/migrations (never
by `create_all`), so this module and the first migration must agree. Datetimes go through `UtcDateTime`:
always timezone-aware UTC in Python, whatever the database (SQLite keeps no offset; PostgreSQL keeps
`timestamptz`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; naive datetimes are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value!r}: the state store only accepts timezone-aware datetimes"
            )
        value = value.astimezone(UTC)
        # SQLite has no timezone type: keep the UTC wall time and put the zone back on the way out.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, int]: JSON}


class ConnectionRow(Base):
    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    crm: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_connection_started", "connection_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(16))  # full | incremental
    trigger: Mapped[str] = mapped_column(String(16))  # manual | schedule | catchup
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(
        String(16)
    )  # running|success|partial|failed|budget_stopped|interrupted
    deals_read: Mapped[int] = mapped_column(Integer, default=0)
    deals_assessed: Mapped[int] = mapped_column(Integer, default=0)
    deals_changed: Mapped[int] = mapped_column(Integer, default=0)
    fields_written: Mapped[int] = mapped_column(Integer, default=0)
    tasks_created: Mapped[int] = mapped_column(Integer, default=0)
    tasks_completed: Mapped[int] = mapped_column(Integer, default=0)
    tasks_reopened: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)


class RunFailureRow(Base):
    __tablename__ = "run_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    deal_id: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)


class WatermarkRow(Base):
    __tablename__ = "watermarks"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[datetime]
    updated_at: Mapped[datetime]


class PendingRetryRow(Base):
    __tablename__ = "pending_retries"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    deal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    first_failed_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class TaskKeyRow(Base):
    __tablename__ = "task_keys"
    __table_args__ = (UniqueConstraint("connection_id", "key", name="uq_task_keys_connection_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(160))
    deal_id: Mapped[str] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(16))
    task_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # The plugin completed it because its commitment was secured (not a rep): if that commitment is lost
    # again, the task is reopened even after the "secured" field stopped saying so.
    completed_by_plugin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DealAssessmentRow(Base):
    """The latest assessment of each deal; `secured`/`missing` are `;`-wrapped lists (";time;explore;")
    so that "missing X" is one portable LIKE on both SQLite and PostgreSQL."""

    __tablename__ = "deal_assessments"
    __table_args__ = (Index("ix_deal_assessments_connection_stage", "connection_id", "stage"),)

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    deal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(120))
    stage_label: Mapped[str | None] = mapped_column(String(255))  # as the CRM shows it, when not `stage`
    pipeline: Mapped[str] = mapped_column(String(120))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    is_closed: Mapped[bool] = mapped_column(Boolean)
    secured: Mapped[str] = mapped_column(Text)
    missing: Mapped[str] = mapped_column(Text)
    next: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    stage_gap: Mapped[bool] = mapped_column(Boolean)
    assessed_at: Mapped[datetime]
    results: Mapped[dict[str, Any]] = mapped_column(JSON)


class CommitmentHistoryRow(Base):
    __tablename__ = "commitment_history"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    deal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    commitment: Mapped[str] = mapped_column(String(16), primary_key=True)
    first_secured_at: Mapped[datetime]
    lost_at: Mapped[datetime | None]


class ScheduleRow(Base):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # full | incremental
    kind: Mapped[str] = mapped_column(String(16))  # cron | interval
    cron: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LockRow(Base):
    """A lease: held by `owner` until `expires_at`; a holder that dies simply lets it expire."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]
