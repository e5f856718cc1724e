"""quarantine tables in the catalog

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 12:40:00.000000

``quarantine_datasets``: each port's quarantine table (location, retention, masked columns), one per
port that has quarantine rules; ``quarantine_versions``: the versions runs committed to it, as
governance read them in the Delta log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_NOW = sa.func.now()


def upgrade() -> None:
    op.create_table(
        "quarantine_datasets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "dataset_id",
            sa.Integer(),
            sa.ForeignKey("datasets.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("ref", sa.String(320), nullable=False, unique=True),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("retention_days", sa.Float(), nullable=False),
        sa.Column("masked_columns", sa.JSON(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_table(
        "quarantine_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "quarantine_id",
            sa.Integer(),
            sa.ForeignKey("quarantine_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("delta_version", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(100), nullable=False),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("policy_decisions.id"), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.UniqueConstraint(
            "quarantine_id", "delta_version", name="uq_quarantine_versions_quarantine_version"
        ),
    )


def downgrade() -> None:
    op.drop_table("quarantine_versions")
    op.drop_table("quarantine_datasets")
