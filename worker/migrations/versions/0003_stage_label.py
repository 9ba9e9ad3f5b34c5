"""stage_label: the stage as the CRM shows it (HubSpot stage ids such as "1167842" read badly).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: rows stored before it show the stage value until their deal is next synced.
    op.add_column("deal_assessments", sa.Column("stage_label", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deal_assessments") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("stage_label")
