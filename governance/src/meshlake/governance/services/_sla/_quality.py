"""Quality check results of a published version, from the summary the catalog keeps with it.

The catalog keeps ``QualityReport.summary()``: the number of rules, how many passed and the names
of the failed ones, without their severities. The severities are in the contract: a rule's
``severity`` (``error`` by default, ``info`` counts as ``warning``), matched by the rule's
``name``. A failed rule the contract does not name counts as ``error``, the platform's default.
A quarantine rule counts as ``warning``: its failing rows were set aside, and what was published
passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshlake.governance.services._sla._evidence import CheckResult
from meshlake.platform.specs import Contract

QUARANTINE_PROPERTY = "quarantine"


def rule_severities(contract: Contract) -> dict[str, str]:
    """``error`` or ``warning`` for each named quality rule of the contract's table and columns."""
    rules = list(contract.table.quality)
    for column in contract.columns:
        rules.extend(column.quality)
    severities: dict[str, str] = {}
    for rule in rules:
        if rule.name is None:
            continue
        extra: Mapping[str, Any] = rule.model_extra or {}
        quarantine = any(
            isinstance(item, Mapping)
            and item.get("property") == QUARANTINE_PROPERTY
            and item.get("value") is True
            for item in extra.get("customProperties") or ()
        )
        severity = (rule.severity or "error").lower()
        severities[rule.name] = (
            "warning" if quarantine or severity in ("warning", "info") else "error"
        )
    return severities


def checks_from_summary(
    summary: Mapping[str, Any], severities: Mapping[str, str] | None = None
) -> tuple[CheckResult, ...]:
    """The check results a stored quality summary tells: one per rule, failed ones by name.

    Passed rules are not named in a summary, so they come back as ``passed-<n>``.
    """
    rules = summary.get("rules")
    failed = [str(name) for name in summary.get("failed") or ()]
    if not isinstance(rules, int) or rules <= 0:
        return ()
    known = severities or {}
    results = [CheckResult(name, False, known.get(name, "error")) for name in failed]
    results.extend(
        CheckResult(f"passed-{index + 1}", True) for index in range(max(0, rules - len(failed)))
    )
    return tuple(results)
