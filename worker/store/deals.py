"""Each deal's latest assessment and its commitment history, as the sync engine last saw them.

`save_assessments` upserts one row per deal (what `commitments deals --missing` and
`commitments explain DEAL --connection` read, without calling the CRM) and keeps `commitment_history`:
when each commitment was first seen secured and when it was lost again. Called once per chunk.
`forget_deals_not_in` drops the deals a complete full read no longer returned (deleted or merged in the
CRM), so a manager's list never shows a deal that is gone.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from connectors.base import chunked
from core.models import Assessment, Commitment, Deal
from worker.store.db import upsert
from worker.store.models import CommitmentHistoryRow, DealAssessmentRow


def encode_commitments(commitments: Sequence[Commitment]) -> str:
    """ ";time;explore;" so that "contains X" is `LIKE '%;X;%'` on any database; "" for none."""
    return f";{';'.join(c.value for c in commitments)};" if commitments else ""


def decode_commitments(value: str) -> tuple[Commitment, ...]:
    return tuple(Commitment(part) for part in value.split(";") if part)


def _row(connection_id: int, deal: Deal, assessment: Assessment) -> dict[str, object]:
    return {
        "connection_id": connection_id,
        "deal_id": deal.id,
        "name": deal.name,
        "stage": deal.stage,
        "stage_label": deal.stage_label,
        "pipeline": deal.pipeline,
        "owner_id": deal.owner_id,
        "is_closed": deal.is_closed,
        "secured": encode_commitments(assessment.secured),
        "missing": encode_commitments(assessment.missing),
        "next": assessment.next.value if assessment.next else None,
        "score": assessment.score,
        "stage_gap": assessment.stage_gap,
        "assessed_at": assessment.assessed_at,
        "results": assessment.model_dump(mode="json", exclude_defaults=True),
    }


def save_assessments(
    session: Session, connection_id: int, assessed: Sequence[tuple[Deal, Assessment]]
) -> None:
    """Upsert the latest assessment of each deal and record commitments first secured or lost."""
    if not assessed:
        return
    statement = upsert(session, DealAssessmentRow)
    replaced = {
        column.name: statement.excluded[column.name]
        for column in DealAssessmentRow.__table__.columns
        if column.name not in ("connection_id", "deal_id")
    }
    statement = statement.on_conflict_do_update(
        index_elements=[DealAssessmentRow.connection_id, DealAssessmentRow.deal_id], set_=replaced
    )
    session.execute(statement, [_row(connection_id, deal, assessment) for deal, assessment in assessed])
    _update_history(session, connection_id, [assessment for _deal, assessment in assessed])


def _update_history(session: Session, connection_id: int, assessments: Sequence[Assessment]) -> None:
    existing = {
        (row.deal_id, row.commitment): row.lost_at is None
        for row in session.scalars(
            select(CommitmentHistoryRow).where(
                CommitmentHistoryRow.connection_id == connection_id,
                CommitmentHistoryRow.deal_id.in_([a.deal_id for a in assessments]),
            )
        )
    }
    new_rows: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for assessment in assessments:
        secured = {c.value for c in assessment.secured}
        for commitment in (c.value for c in Commitment):
            key = (assessment.deal_id, commitment)
            held = existing.get(key)
            pk = {"connection_id": connection_id, "deal_id": assessment.deal_id, "commitment": commitment}
            if commitment in secured and held is None:
                new_rows.append({**pk, "first_secured_at": assessment.assessed_at, "lost_at": None})
            elif commitment in secured and held is False:
                changed.append({**pk, "lost_at": None})
            elif commitment not in secured and held:
                changed.append({**pk, "lost_at": assessment.assessed_at})
    if new_rows:
        session.execute(insert(CommitmentHistoryRow), new_rows)
    if changed:
        session.execute(update(CommitmentHistoryRow), changed)


def _stage_is(stage: str) -> ColumnElement[bool]:
    """The stage value or its label as the CRM shows it (HubSpot), in any case as `--missing` takes a
    commitment; exact text as well, as SQLite's lower() folds ASCII letters only."""
    columns = (DealAssessmentRow.stage, DealAssessmentRow.stage_label)
    return or_(*(c == stage for c in columns), *(func.lower(c) == stage.lower() for c in columns))


def deals_missing(
    session: Session,
    connection_id: int,
    commitment: Commitment,
    *,
    stage: str | None = None,
    owner_id: str | None = None,
    include_closed: bool = False,
    limit: int | None = None,
) -> list[DealAssessmentRow]:
    """Deals whose last assessment has `commitment` missing (expected by the stage, not secured)."""
    query = (
        select(DealAssessmentRow)
        .where(
            DealAssessmentRow.connection_id == connection_id,
            DealAssessmentRow.missing.like(f"%;{commitment.value};%"),
        )
        .order_by(DealAssessmentRow.stage, DealAssessmentRow.name, DealAssessmentRow.deal_id)
    )
    if stage is not None:
        query = query.where(_stage_is(stage))
    if owner_id is not None:
        query = query.where(DealAssessmentRow.owner_id == owner_id)
    if not include_closed:
        query = query.where(DealAssessmentRow.is_closed.is_(False))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def stages_seen(session: Session, connection_id: int, stage: str) -> list[str] | None:
    """None when some synced deal is in `stage`; else the stages synced deals are in, as the CRM shows them
    (for telling a manager that a `--stage` matched no stage at all, not just no deal missing something)."""
    shown = func.coalesce(DealAssessmentRow.stage_label, DealAssessmentRow.stage)
    return _seen_else_all(session, connection_id, _stage_is(stage), shown)


def owners_seen(session: Session, connection_id: int, owner_id: str) -> list[str] | None:
    """None when some synced deal has owner `owner_id`; else the owner ids synced deals have (an `--owner`
    that matched nobody: a name, or an id of another CRM user, where the deals' owner ids were meant)."""
    column = DealAssessmentRow.owner_id
    return _seen_else_all(session, connection_id, column == owner_id, column)


def _seen_else_all(
    session: Session, connection_id: int, matches: ColumnElement[bool], shown: Any
) -> list[str] | None:
    of_connection = DealAssessmentRow.connection_id == connection_id
    seen = session.scalars(select(DealAssessmentRow.deal_id).where(of_connection, matches).limit(1)).first()
    if seen is not None:
        return None
    query = select(shown).where(of_connection, shown.is_not(None)).distinct().order_by(shown)
    return [str(value) for value in session.scalars(query)]


def latest_assessment(session: Session, connection_id: int, deal_id: str) -> DealAssessmentRow | None:
    return session.get(DealAssessmentRow, (connection_id, deal_id))


def stored_assessment(row: DealAssessmentRow) -> Assessment:
    return Assessment.model_validate(row.results)


def history_of(session: Session, connection_id: int, deal_id: str) -> list[CommitmentHistoryRow]:
    query = select(CommitmentHistoryRow).where(
        CommitmentHistoryRow.connection_id == connection_id, CommitmentHistoryRow.deal_id == deal_id
    )
    order = {c.value: i for i, c in enumerate(Commitment)}
    return sorted(session.scalars(query), key=lambda row: order.get(row.commitment, 99))


def assessed_count(session: Session, connection_id: int) -> int:
    query = (
        select(func.count())
        .select_from(DealAssessmentRow)
        .where(DealAssessmentRow.connection_id == connection_id)
    )
    return int(session.scalar(query) or 0)


def forget_deals_not_in(session: Session, connection_id: int, present: Set[str]) -> int:
    """Delete the stored assessment and history of every deal of the connection not in `present` (the ids a
    complete full read returned); returns how many deals were forgotten."""
    stored = session.scalars(
        select(DealAssessmentRow.deal_id).where(DealAssessmentRow.connection_id == connection_id)
    )
    gone = [deal_id for deal_id in stored if deal_id not in present]
    for ids in chunked(gone, 500):  # stay well under any database's bound-parameter limit
        for table in (DealAssessmentRow, CommitmentHistoryRow):
            session.execute(delete(table).where(table.connection_id == connection_id, table.deal_id.in_(ids)))
    return len(gone)
