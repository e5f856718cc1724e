"""A compiled rule, what the engine runs, and a rule problem, what ``meshlake validate`` reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshlake.platform.quality._results import NotEvaluated, RuleSpec
from meshlake.platform.quality._thresholds import ZERO_ROWS, Threshold

Path_ = tuple[str | int, ...]
"""Where a field sits in its contract: keys and list indexes from the document's root."""

ROW_LEVEL = ("nullValues", "missingValues", "invalidValues", "range", "pattern", "length")


@dataclass(frozen=True)
class CompiledRule:
    """A rule with everything the engine needs: its public spec, the threshold and GE arguments."""

    spec: RuleSpec
    threshold: Threshold = ZERO_ROWS
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    query: str | None = None  # sql rules: the query as written
    missing_values: tuple[Any, ...] = ()  # missingValues: the values that count as missing

    @property
    def row_level(self) -> bool:
        return self.spec.kind in ROW_LEVEL

    @property
    def column(self) -> str | None:
        return self.spec.column


@dataclass(frozen=True)
class RuleProblem:
    """A rule that cannot run, located at a field of its contract."""

    path: Path_
    message: str


@dataclass(frozen=True)
class CompiledContract:
    """What compiling a contract yields: its rules, the problems that stop some, and the rules
    meshlake cannot run (reported as not evaluated, never dropped)."""

    rules: list[CompiledRule]
    problems: list[RuleProblem]
    not_evaluated: list[NotEvaluated]
