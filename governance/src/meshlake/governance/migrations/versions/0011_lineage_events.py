"""lineage events: every OpenLineage event kept as received, and the datasets it names

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 13:00:00.000000

``lineage_events``: one row per distinct event (RunEvent, JobEvent or DatasetEvent), its body as
sent; ``digest`` (sha256 of the body) keeps a retried event once. ``lineage_event_datasets``: the
datasets each event names, so events are found by dataset.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lineage_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("shape", sa.String(20), nullable=False),
        sa.Column("event_type", sa.String(20), nullable=True),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("lineage_jobs.id"), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_lineage_events_run", "lineage_events", ["run_id"])
    op.create_index("ix_lineage_events_job", "lineage_events", ["job_id"])
    op.create_table(
        "lineage_event_datasets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("lineage_events.id"), nullable=False),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("lineage_datasets.id"), nullable=False),
        sa.UniqueConstraint("event_id", "dataset_id"),
    )
    op.create_index(
        "ix_lineage_event_datasets_dataset",
        "lineage_event_datasets",
        ["dataset_id", "event_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_lineage_event_datasets_dataset", table_name="lineage_event_datasets")
    op.drop_table("lineage_event_datasets")
    op.drop_index("ix_lineage_events_job", table_name="lineage_events")
    op.drop_index("ix_lineage_events_run", table_name="lineage_events")
    op.drop_table("lineage_events")
