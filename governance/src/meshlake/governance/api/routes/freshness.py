"""Freshness of an output port: the Delta log's evidence against the contract's latency."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from meshlake.governance.api._bounds import Instant
from meshlake.governance.api.deps import CallerDep, SessionDep
from meshlake.governance.services import _catalog, _freshness

router = APIRouter(prefix="/api/v1", tags=["catalog"])


class FreshnessOut(BaseModel):
    dataset: str
    location: str
    status: Literal["fresh", "late", "no_sla", "missing"] = Field(
        description="fresh: last commit within the contract's latency; late: older; no_sla: the"
        " contract promises no latency; missing: no Delta table at the location."
    )
    reason: str
    checked_at: datetime
    latency: timedelta | None = Field(description="The contract's slaProperties latency.")
    delta_version: int | None = Field(description="The table's current version (its Delta log).")
    last_commit_at: datetime | None
    age: timedelta | None
    row_count: int | None = Field(description="Rows of the current version (DuckDB).")
    published_version: int | None = Field(
        description="The newest version published to the catalog; lower than delta_version when"
        " a write was not published."
    )


@router.get(
    "/datasets/{ref}/freshness",
    summary="Freshness of an output port, from its Delta log, against its contract's latency",
)
def dataset_freshness(
    ref: str,
    session: SessionDep,
    _caller: CallerDep,
    at: Annotated[
        Instant | None,
        Query(description="Judge as of this time (ISO 8601, UTC without an offset); default: now."),
    ] = None,
) -> FreshnessOut:
    result = _freshness.freshness(session, _catalog.get_dataset(session, ref), at)
    return FreshnessOut.model_validate(result, from_attributes=True)
