"""lineage indexes: IO by dataset, datasets by logical name, runs by job

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00.000000

``ix_lineage_io_dataset``: a table-level graph hop asks which jobs write (upstream) or read
(downstream) the frontier's datasets; the unique (job_id, dataset_id, direction) index cannot
answer that, so without this one every hop scans the whole table, and a graph costs in proportion
to the store rather than to the answer (upstream depth 10 on benchmarks/lineage_graph.py's
10k-node graph, SQLite: p50 22-30 ms, p99 33 ms without it; p50 5-8 ms, p99 10-13 ms with it).
``ix_lineage_datasets_logical_name``: graph and impact requests name datasets by their logical name
(``domain.product.port``). ``ix_lineage_runs_job``: the runs of one job, newest first.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_lineage_io_dataset", "lineage_io", ["dataset_id", "direction"])
    op.create_index("ix_lineage_datasets_logical_name", "lineage_datasets", ["logical_name"])
    op.create_index("ix_lineage_runs_job", "lineage_runs", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_lineage_runs_job", table_name="lineage_runs")
    op.drop_index("ix_lineage_datasets_logical_name", table_name="lineage_datasets")
    op.drop_index("ix_lineage_io_dataset", table_name="lineage_io")
