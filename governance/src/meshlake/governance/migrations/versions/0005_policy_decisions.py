"""policy decisions log, and policy warnings recorded with each published version

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:00:00.000000

``policy_decisions``: every decision the policies took (the publication gate, the decision API),
with the input it was taken on and its reasons, so a refusal can be explained later and the
platform admin can query who was refused what. ``dataset_versions.policy_warnings``: the warn
rules that matched when the version was published (null for versions published before).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(30), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("principal", sa.String(200), nullable=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
    )
    op.create_index("ix_policy_decisions_at", "policy_decisions", ["at"])
    op.create_index("ix_policy_decisions_decision", "policy_decisions", ["decision", "allowed"])
    with op.batch_alter_table("dataset_versions") as batch:
        batch.add_column(sa.Column("policy_warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dataset_versions") as batch:
        batch.drop_column("policy_warnings")
    op.drop_index("ix_policy_decisions_decision", table_name="policy_decisions")
    op.drop_index("ix_policy_decisions_at", table_name="policy_decisions")
    op.drop_table("policy_decisions")
