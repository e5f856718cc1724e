"""What an SLA evaluation says: one piece of evidence per property, and the evaluation of a port.

The types are plain values with a JSON form (``to_dict``/``from_dict``) so the agreements and
incidents code can store an evaluation and hand earlier ones back as availability history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

Status = Literal["met", "missed", "unknown"]
PROPERTIES = ("freshness", "completeness", "quality", "availability", "retention")
"""Every evaluation holds one evidence per property, in this order (``unknown`` when not promised),
then one per property of the terms that is not measured (``SlaTerms.unmeasured``)."""


@dataclass(frozen=True)
class CheckResult:
    """One quality check of a published version, as recorded with it."""

    name: str
    passed: bool
    severity: str = "error"
    """``error`` or ``warning``; a failed error-severity check misses the quality term."""


@dataclass(frozen=True)
class PortFacts:
    """What the catalog knows of an output port; the rest is read from its Delta log."""

    ref: str
    location: str
    checks: Sequence[CheckResult] = ()
    """The quality check results recorded for the latest published version."""
    published_version: int | None = None


@dataclass(frozen=True)
class Evidence:
    """Whether one SLA property is kept, with what was measured against what was promised."""

    property: str
    status: Status
    measured: str | None
    promised: str | None
    detail: str
    delta_version: int | None
    observed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "property": self.property,
            "status": self.status,
            "measured": self.measured,
            "promised": self.promised,
            "detail": self.detail,
            "delta_version": self.delta_version,
            "observed_at": self.observed_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(
            property=str(data["property"]),
            status=cast(Status, data["status"]),
            measured=data.get("measured"),
            promised=data.get("promised"),
            detail=str(data.get("detail", "")),
            delta_version=data.get("delta_version"),
            observed_at=datetime.fromisoformat(str(data["observed_at"])),
        )


@dataclass(frozen=True)
class Evaluation:
    """Every SLA property of one port at one moment (``observed_at``), at one Delta version."""

    ref: str
    delta_version: int | None
    observed_at: datetime
    results: tuple[Evidence, ...]

    @property
    def met(self) -> bool:
        """No property missed. ``unknown`` is not a miss: an unmeasurable term opens no incident."""
        return not self.missed

    @property
    def missed(self) -> list[Evidence]:
        return [item for item in self.results if item.status == "missed"]

    @property
    def up(self) -> bool:
        """Met, availability aside: availability is the share of time a port was up, so counting
        it in would keep a port that once fell below its availability down for good."""
        return not any(item.property != "availability" for item in self.missed)

    def result(self, prop: str) -> Evidence:
        for item in self.results:
            if item.property == prop:
                return item
        raise KeyError(f"no evidence for {prop!r}; properties are {', '.join(PROPERTIES)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "delta_version": self.delta_version,
            "observed_at": self.observed_at.isoformat(),
            "met": self.met,
            "results": [item.to_dict() for item in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        return cls(
            ref=str(data["ref"]),
            delta_version=data.get("delta_version"),
            observed_at=datetime.fromisoformat(str(data["observed_at"])),
            results=tuple(Evidence.from_dict(item) for item in data.get("results", ())),
        )
