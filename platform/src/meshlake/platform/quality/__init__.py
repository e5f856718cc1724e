"""Quality contracts: the contract's rules compiled to Great Expectations and run before a commit.

The result types are importable without Spark or Great Expectations, so Dagster definitions and
the catalog client can use them cheaply.
"""

from meshlake.platform.quality._results import (
    DriftResult,
    NotEvaluated,
    QualityError,
    QualityReport,
    RuleResult,
    RuleSpec,
    Severity,
)
from meshlake.platform.quality._rules import not_evaluated_rules, port_rules

__all__ = [
    "DriftResult",
    "NotEvaluated",
    "QualityError",
    "QualityReport",
    "RuleResult",
    "RuleSpec",
    "Severity",
    "not_evaluated_rules",
    "port_rules",
]
