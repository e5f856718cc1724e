"""A recipient's shares and their tables: its active agreements, read through ``_readable``.

Someone else's share, or a name that does not exist, is "not found" (a recipient learns nothing of
other shares); the recipient's own share whose agreement is no longer active is "forbidden", so it
knows why its access ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import ForbiddenError, NotFoundError
from meshlake.governance.db._tables import Agreement
from meshlake.governance.services._access import Caller
from meshlake.governance.services._agreements import advance
from meshlake.governance.services._delta_sharing._names import RECIPIENT_KINDS, table_name
from meshlake.governance.services._readable import ReadablePort, agreement_ports


@dataclass(frozen=True)
class SharedTable:
    """One output port as one share serves it."""

    share: str
    schema: str
    name: str
    port: ReadablePort


def shares(session: Session, caller: Caller, today: date) -> list[Agreement]:
    """The caller's active agreements as a recipient (advanced to ``today`` first)."""
    found = list(
        session.scalars(
            select(Agreement).where(
                Agreement.consumer_id == caller.name,
                Agreement.consumer_kind.in_(RECIPIENT_KINDS),
            )
        )
    )
    for agreement in found:
        advance(session, agreement, today)
    return [agreement for agreement in found if agreement.state == "active"]


def share(session: Session, caller: Caller, name: str, today: date) -> Agreement:
    """The caller's share ``name``; 404 if it is not the caller's, 403 once it is not active."""
    agreement = session.scalar(select(Agreement).where(Agreement.name == name))
    if (
        agreement is None
        or agreement.consumer_id != caller.name
        or agreement.consumer_kind not in RECIPIENT_KINDS
    ):
        raise NotFoundError(f"share {name!r} does not exist or is not shared with {caller.name}")
    advance(session, agreement, today)
    if agreement.state != "active":
        raise ForbiddenError(
            f"share {name}: agreement {name} is {agreement.state}, and a share is open only while "
            f"its agreement is active; ask the providing domain ({agreement.provider_domain}) "
            "about its dates, a renewal or a new agreement"
        )
    return agreement


def tables(session: Session, agreement: Agreement) -> list[SharedTable]:
    """The published ports of an active share, as tables of its one schema."""
    return [
        SharedTable(agreement.name, agreement.provider_domain, table_name(port.port), port)
        for port in agreement_ports(session, agreement)
    ]


def schema_of(agreement: Agreement, schema: str) -> None:
    if schema != agreement.provider_domain:
        raise NotFoundError(
            f"schema {schema!r} is not in share {agreement.name}; its one schema is "
            f"{agreement.provider_domain!r}"
        )


def table(
    session: Session, caller: Caller, share_name: str, schema: str, name: str, today: date
) -> SharedTable:
    """One table of the caller's share, or 404 naming what exists."""
    agreement = share(session, caller, share_name, today)
    schema_of(agreement, schema)
    found = tables(session, agreement)
    for item in found:
        if item.name == name:
            return item
    names = ", ".join(item.name for item in found) or "none published yet"
    raise NotFoundError(f"table {name!r} is not in {share_name}.{schema} (it has: {names})")
