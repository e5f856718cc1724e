"""declared inputs, staged publication decisions, verified versions, zone-scoped service grants

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-14 06:00:00.000000

``product_inputs``: what each product declares it reads (another product's output port, or a raw
source of a domain), stored at registration; the publication decision resolves them through the
catalog to domain, zone and region (never from a client's lineage).
``policy_decisions``: a publication decision on a staged version carries its run, the gate mode, whether
it lets the platform commit, and the staged facts it was taken on (``staged``).
``dataset_versions``: the decision a version was recorded under and the schema governance read
from the Delta log at that version.
``role_grants.zone``: a ``zone_service`` grant's landing zone (the domains it hosts may be written).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_inputs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "product_id",
            sa.Integer(),
            sa.ForeignKey("products.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("port", sa.String(302), nullable=True),
        sa.Column("source", sa.String(300), nullable=True),
        sa.Column("domain", sa.String(100), nullable=False),
        sa.UniqueConstraint("product_id", "name", name="uq_product_inputs_product_name"),
    )
    with op.batch_alter_table("policy_decisions") as batch:
        batch.add_column(sa.Column("run_id", sa.String(100), nullable=True))
        batch.add_column(sa.Column("gate", sa.String(10), nullable=True))
        batch.add_column(sa.Column("commit_allowed", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("staged", sa.JSON(), nullable=True))
    op.create_index("ix_policy_decisions_subject_run", "policy_decisions", ["subject", "run_id"])
    with op.batch_alter_table("dataset_versions") as batch:
        batch.add_column(sa.Column("decision_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("delta_schema", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            "fk_dataset_versions_decision", "policy_decisions", ["decision_id"], ["id"]
        )
    with op.batch_alter_table("role_grants") as batch:
        batch.add_column(sa.Column("zone", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("role_grants") as batch:
        batch.drop_column("zone")
    with op.batch_alter_table("dataset_versions") as batch:
        batch.drop_constraint("fk_dataset_versions_decision", type_="foreignkey")
        batch.drop_column("delta_schema")
        batch.drop_column("decision_id")
    op.drop_index("ix_policy_decisions_subject_run", table_name="policy_decisions")
    with op.batch_alter_table("policy_decisions") as batch:
        batch.drop_column("staged")
        batch.drop_column("commit_allowed")
        batch.drop_column("gate")
        batch.drop_column("run_id")
    op.drop_table("product_inputs")
