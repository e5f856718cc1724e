"""column edges: retired_at and seen_at, so the current graph drops edges a job no longer writes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:00:00.000000

An edge is current while ``retired_at`` is NULL. A job's COMPLETE event whose columnLineage facet
no longer holds an edge of that job's output retires it (``retired_at`` = the event's time); one
that holds it again brings it back. ``seen_at`` is the time of the event that made it current, so
an older event arriving late changes nothing. Retired edges stay, for the graph's history view.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lineage_column_edges") as batch:
        batch.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lineage_column_edges") as batch:
        batch.drop_column("retired_at")
        batch.drop_column("seen_at")
