"""The audit log: every governance action and every refusal, appended, never changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance.db._tables import AuditEntry


def record(
    session: Session,
    *,
    principal: str | None,
    action: str,
    target: str | None,
    outcome: str = "ok",
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            principal=principal,
            action=action,
            target=target,
            outcome=outcome,
            reason=reason,
            before=before,
            after=after,
        )
    )


def entries(
    session: Session,
    *,
    principal: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if principal:
        query = query.where(AuditEntry.principal == principal)
    if action:
        query = query.where(AuditEntry.action == action)
    if since:
        query = query.where(AuditEntry.at >= since)
    return list(session.scalars(query))
