"""token lifecycle: expiry, last use, rotation

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 09:20:00.000000

``api_tokens.expires_at``: when a token stops working; NULL for the tokens issued before this
revision, which stay valid (no expiry) until they are rotated or revoked.
``api_tokens.last_used_at``: the last request the token authenticated, updated at most once a minute.
``api_tokens.replaces_id``: the token a rotation replaced (unique: a token is rotated once).
``ix_api_tokens_principal``: listing a principal's tokens.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_api_tokens_replaces", "api_tokens", ["replaces_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_unique_constraint("uq_api_tokens_replaces", ["replaces_id"])
    op.create_index("ix_api_tokens_principal", "api_tokens", ["principal_id"])


def downgrade() -> None:
    op.drop_index("ix_api_tokens_principal", table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint("uq_api_tokens_replaces", type_="unique")
        batch.drop_constraint("fk_api_tokens_replaces", type_="foreignkey")
        batch.drop_column("replaces_id")
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
