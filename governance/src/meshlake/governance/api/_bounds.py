"""Bounded value types for what the API takes: both databases store every value that passes.

A version or count past 64 bits, or a time near year 1 or 9999 (whose arithmetic overflows),
used to reach the database or a service and come back as 500.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

# The columns are BIGINT (2**63 - 1), but JSON numbers are doubles to many clients and JSON Schema
# validators, exact only up to 2**53 - 1 (I-JSON, RFC 7493): past it, two different versions can
# read as one number. The bound keeps the API, its OpenAPI and every client agreeing on each value.
MAX_INT = 2**53 - 1
FIRST_YEAR, LAST_YEAR = 1970, 8999

Count = Annotated[int, Field(ge=0, le=MAX_INT)]
"""A version, a row count: 0 to 2**53 - 1 (exact as a JSON number; fits BIGINT)."""

Id = Annotated[int, Field(ge=1, le=MAX_INT)]
"""A database id."""

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(value: Any) -> Any:
    # pydantic would read "0.5" or "1e-300" as seconds since 1970; the API speaks ISO 8601 only.
    if not isinstance(value, datetime) and not (isinstance(value, str) and _ISO.match(value)):
        raise ValueError("an ISO 8601 time is required, such as 2026-11-02T07:00:00Z")
    return value


def _utc_in_range(value: datetime) -> datetime:
    """Naive times are taken as UTC (as the service stores them). The year is checked as written,
    which the OpenAPI pattern states; in UTC it is then safe for arithmetic on both databases."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be {FIRST_YEAR} to {LAST_YEAR}, got {value.isoformat()}")
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC)


Instant = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    AfterValidator(_utc_in_range),
    Field(
        description=f"ISO 8601, year {FIRST_YEAR} to {LAST_YEAR}; without an offset it is UTC.",
        json_schema_extra={"pattern": "^(19[7-9][0-9]|[2-8][0-9]{3})-"},
    ),
]
