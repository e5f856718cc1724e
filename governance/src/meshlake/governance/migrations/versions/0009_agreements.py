"""sharing agreements, their transitions, SLA evidence and incidents

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 09:30:00.000000

``agreements``: a consumer's access to output ports of one providing domain, its state and terms;
``agreement_ports``: the ports each covers; ``agreement_events``: every transition;
``sla_evaluations``: the SLA evidence history per agreement and port; ``incidents``: SLA breaches.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_NOW = sa.func.now()


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        sa.Column("consumer_kind", sa.String(20), nullable=False),
        sa.Column("consumer_id", sa.String(300), nullable=False),
        sa.Column("consumer_domain", sa.String(100), nullable=True),
        sa.Column("provider_domain", sa.String(100), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("legal_basis", sa.String(200), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("offer", sa.JSON(), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_index("ix_agreements_state", "agreements", ["state"])
    op.create_table(
        "agreement_ports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "agreement_id",
            sa.Integer(),
            sa.ForeignKey("agreements.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("port", sa.String(302), nullable=False),
        sa.UniqueConstraint("agreement_id", "port", name="uq_agreement_ports_agreement_port"),
    )
    op.create_index("ix_agreement_ports_port", "agreement_ports", ["port"])
    op.create_table(
        "agreement_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "agreement_id",
            sa.Integer(),
            sa.ForeignKey("agreements.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_table(
        "sla_evaluations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "agreement_id",
            sa.Integer(),
            sa.ForeignKey("agreements.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("port", sa.String(302), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("delta_version", sa.BigInteger(), nullable=True),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
    )
    op.create_index(
        "ix_sla_evaluations_agreement_at", "sla_evaluations", ["agreement_id", "evaluated_at"]
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("port", sa.String(302), nullable=False),
        sa.Column("provider_domain", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("breached", sa.JSON(), nullable=False),
        sa.Column("agreements", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("breach_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_incidents_port_state", "incidents", ["port", "state"])


def downgrade() -> None:
    op.drop_index("ix_incidents_port_state", table_name="incidents")
    op.drop_table("incidents")
    op.drop_index("ix_sla_evaluations_agreement_at", table_name="sla_evaluations")
    op.drop_table("sla_evaluations")
    op.drop_table("agreement_events")
    op.drop_index("ix_agreement_ports_port", table_name="agreement_ports")
    op.drop_table("agreement_ports")
    op.drop_index("ix_agreements_state", table_name="agreements")
    op.drop_table("agreements")
