"""ODCS comparison operators (mustBe, mustBeBetween, ...) as one small value type.

A library or SQL rule measures a number (rows, a percent, a query's result); its operator says which
numbers keep the promise. Great Expectations computes the measure, this decides, so the contract's
exact wording holds even where GE's ``mostly`` cannot express it (a row budget such as "< 10 rows").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
RANGE_OPERATORS = ("mustBeBetween", "mustNotBeBetween")
UNITS = ("rows", "percent")

_SYMBOLS = {
    "mustBe": "=",
    "mustNotBe": "!=",
    "mustBeGreaterThan": ">",
    "mustBeGreaterOrEqualTo": ">=",
    "mustBeLessThan": "<",
    "mustBeLessOrEqualTo": "<=",
}


@dataclass(frozen=True)
class Threshold:
    """One operator with its bound(s) and the unit of the measured value."""

    operator: str
    low: float
    high: float | None = None  # the upper bound of the range operators
    unit: str = "rows"

    def holds(self, observed: float | None) -> bool:
        if observed is None or (isinstance(observed, float) and math.isnan(observed)):
            return False
        value = float(observed)
        if self.operator in RANGE_OPERATORS:
            assert self.high is not None
            inside = self.low <= value <= self.high
            return inside if self.operator == "mustBeBetween" else not inside
        return {
            "mustBe": value == self.low,
            "mustNotBe": value != self.low,
            "mustBeGreaterThan": value > self.low,
            "mustBeGreaterOrEqualTo": value >= self.low,
            "mustBeLessThan": value < self.low,
            "mustBeLessOrEqualTo": value <= self.low,
        }[self.operator]

    def text(self) -> str:
        """The promise for people: ``= 0 rows``, ``between 1000 and 50000 rows``, ``< 1 %``."""
        unit = " %" if self.unit == "percent" else f" {self.unit}" if self.unit else ""
        if self.operator in RANGE_OPERATORS:
            word = "between" if self.operator == "mustBeBetween" else "not between"
            return f"{word} {_number(self.low)} and {_number(self.high)}{unit}"
        return f"{_SYMBOLS[self.operator]} {_number(self.low)}{unit}"


ZERO_ROWS = Threshold("mustBe", 0, unit="rows")


def threshold_from_rule(rule: dict[str, Any], unit_default: str = "rows") -> tuple[Threshold, str]:
    """The rule's one operator as a Threshold; raise ValueError(field, message) when it is unfit.

    The error's first argument is the rule field to point at, the second the message.
    """
    present = [name for name in OPERATORS if name in rule]
    if not present:
        raise ValueError("", f"needs one operator ({', '.join(OPERATORS)})")
    if len(present) > 1:
        raise ValueError(present[1], f"has several operators ({', '.join(present)}); keep one")
    operator = present[0]
    value = rule[operator]
    unit = str(rule.get("unit", unit_default))
    if operator in RANGE_OPERATORS:
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(_is_number(item) for item in value)
        ):
            raise ValueError(operator, f"must be a list of two numbers, got {value!r}")
        low, high = float(value[0]), float(value[1])
        if low >= high:
            raise ValueError(operator, f"the smaller number comes first, got {value!r}")
        return Threshold(operator, low, high, unit), operator
    if not _is_number(value):
        raise ValueError(operator, f"must be a number for this metric, got {value!r}")
    return Threshold(operator, float(value), None, unit), operator


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
