"""What a quality run reports: one result per rule, drift per column, and the quarantine.

These types are the contract between the quality engine (which fills them before a Delta commit),
the orchestration (one Dagster asset check per rule), the lineage events (data-quality facets) and
the catalog (the quality summary of a published version). They carry no Spark or GE objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from meshlake.platform._errors import MaterializationError
from meshlake.platform._ids import PortRef

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class RuleSpec:
    """One compiled rule of an output port's contract, known without reading any data.

    ``name`` is unique per port and a valid Dagster check name (``[A-Za-z0-9_]+``), stable across
    runs so a check's history stays together in the UI.
    """

    port: PortRef
    name: str
    description: str
    kind: str  # the ODCS metric or property constraint: "nullValues", "unique", "sql", ...
    expectation: str  # the Great Expectations expectation type it compiles to
    column: str | None = None
    severity: Severity = "error"
    quarantine: bool = False
    source: str = ""  # "file:line" of the rule in its contract, for messages
    quarantine_max_percent: float | None = None
    """A quarantine rule blocks past this share of rows (None: when every row would go)."""


@dataclass(frozen=True)
class NotEvaluated:
    """A contract rule meshlake cannot run (``type: text``, ``type: custom``, another ``engine``).

    Reported wherever the rules are: ``meshlake validate`` lists it as a note, and each quality
    report carries it, so the orchestration shows it as a skipped check. ``name`` is unique among
    the port's rules and a valid Dagster check name, like ``RuleSpec.name``."""

    port: PortRef
    name: str
    kind: str  # the rule's type: "text", "custom", or "library"/"sql" for another engine
    reason: str
    column: str | None = None
    source: str = ""  # "file:line" of the rule in its contract
    description: str = ""
    path: tuple[str | int, ...] = ()  # where it sits in the contract, for the validate note


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule on one produced DataFrame (before the commit)."""

    rule: RuleSpec
    passed: bool
    expected: str  # human form of the promise: "= 0 rows", "between 1000 and 50000", "< 1 %"
    observed: float | int | str | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    failing_sample: tuple[str, ...] = ()  # already masked when the column is classified
    quarantined_rows: int = 0
    quarantine_blocked: str | None = None
    """Why a quarantine rule blocks: it would set aside more rows than its limit allows."""

    @property
    def blocking(self) -> bool:
        """A failed error-severity rule stops publication, unless it quarantines the rows
        instead; a quarantine rule stops it past its limit, whatever its severity."""
        if self.rule.quarantine:
            return self.quarantine_blocked is not None
        return not self.passed and self.rule.severity == "error"


@dataclass(frozen=True)
class DriftResult:
    """How one column's distribution moved from the previous published version to this one."""

    column: str
    statistic: str  # "psi" (numeric) or "category_share" (categorical)
    value: float
    threshold: float
    detail: str = ""

    @property
    def drifted(self) -> bool:
        return self.value > self.threshold


@dataclass(frozen=True)
class QualityReport:
    """Everything the checks of one output port found for one run."""

    port: PortRef
    rows_checked: int
    results: tuple[RuleResult, ...] = ()
    drift: tuple[DriftResult, ...] = ()
    quarantine_location: str | None = None
    quarantined_rows: int = 0
    data_docs: str | None = None  # file URI of the Great Expectations Data Docs page
    seconds: float = 0.0
    previous_version: int | None = None  # the Delta version drift was measured against
    validator: str = "spark"  # who counted: meshlake's Spark pass or "great_expectations"
    not_evaluated: tuple[NotEvaluated, ...] = ()  # rules of the contract meshlake cannot run

    @property
    def blocked(self) -> bool:
        return any(result.blocking for result in self.results)

    @property
    def failed(self) -> list[RuleResult]:
        return [result for result in self.results if not result.passed]

    def summary(self) -> dict[str, object]:
        """The short form kept with a published version in the catalog."""
        return {
            "rules": len(self.results),
            "passed": sum(result.passed for result in self.results),
            "failed": [result.rule.name for result in self.failed],
            "quarantined_rows": self.quarantined_rows,
            "drifted_columns": [d.column for d in self.drift if d.drifted],
            "not_evaluated": [rule.name for rule in self.not_evaluated],
        }


class QualityError(MaterializationError):
    """Publication blocked: an error-severity rule failed, so no Delta commit was made.

    Carries every report of the product (including ports that passed) so the orchestration can
    still show each rule's result as a failed asset check.
    """

    def __init__(self, product: str, reports: list[QualityReport]) -> None:
        self.reports = reports
        lines = [
            f"{result.rule.port.port}.{result.rule.name}: "
            + (
                result.quarantine_blocked
                or f"expected {result.expected}, observed {result.observed}"
            )
            for report in reports
            for result in report.results
            if result.blocking
        ]
        super().__init__(
            product,
            "quality rules failed, nothing was published (previous version kept): "
            + "; ".join(lines),
        )
