"""Rego unit tests (``test_*`` rules in ``*_test.rego``), run through the same interpreter as policies.

regopy has no ``opa test``; each test rule is queried on its decision's test bundle and passes when
it is true. One RegoTest per rule, so a test runner can report each by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from meshlake.governance.policies._bundle import DECISIONS, PolicyBundle, load_bundle

_TEST_RULE = re.compile(r"^(test_\w+)\s+if\b", re.MULTILINE)


@dataclass(frozen=True)
class RegoTest:
    decision: str
    module: str  # file name relative to the policy folder
    line: int
    package: str
    rule: str

    @property
    def name(self) -> str:
        return f"{self.module}::{self.rule}"

    def run(self, bundle: PolicyBundle) -> bool:
        """True when the rule is true; False when it is false or undefined."""
        return bundle.query(f"data.{self.package}.{self.rule}", {}) is True


def bundles_with_tests(root: Path) -> dict[str, PolicyBundle]:
    """Each decision's bundle with its ``*_test.rego`` modules loaded too."""
    return {decision: load_bundle(root, decision, include_tests=True) for decision in DECISIONS}


def discover(bundles: dict[str, PolicyBundle]) -> list[RegoTest]:
    found = []
    for decision, bundle in bundles.items():
        for module in bundle.modules:
            if not module.is_test:
                continue
            for match in _TEST_RULE.finditer(module.text):
                line = module.text.count("\n", 0, match.start()) + 1
                found.append(RegoTest(decision, module.name, line, module.package, match.group(1)))
    return found
