"""zone policies: the policies each landing zone declares, and which ones judged each decision

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 16:00:00.000000

``zones.policies``: the zone file's ``policies`` as registered (decisions or ``decision.policy``
names; NULL: every policy). ``policy_decisions.policies`` and ``policy_decisions.bundle``: the
policies that judged a decision and the version (digest) of the bundle they came from; NULL on
decisions logged before this migration. ``ix_lineage_events_received``: retention prunes kept
lineage events by age.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("zones", sa.Column("policies", sa.JSON(), nullable=True))
    op.add_column("policy_decisions", sa.Column("policies", sa.JSON(), nullable=True))
    op.add_column("policy_decisions", sa.Column("bundle", sa.String(64), nullable=True))
    op.create_index("ix_lineage_events_received", "lineage_events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_lineage_events_received", table_name="lineage_events")
    with op.batch_alter_table("policy_decisions") as batch:
        batch.drop_column("bundle")
        batch.drop_column("policies")
    with op.batch_alter_table("zones") as batch:
        batch.drop_column("policies")
