"""The parts' boundaries, read from every module's imports (also those inside functions and under
TYPE_CHECKING): the platform never imports governance or orchestration, governance never imports
orchestration or Spark, and a part uses another only through its public modules."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.unit

PARTS = ("platform", "governance", "orchestration")
SPARK = ("pyspark", "delta", "great_expectations", "py4j")
"""Top-level packages of the platform's ``spark`` extra (``delta`` is delta-spark, not deltalake)."""

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "platform": ("meshlake.governance", "meshlake.orchestration"),
    "governance": ("meshlake.orchestration", *SPARK),
    "orchestration": (),
}


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    module: str
    """The imported module, or ``module.name`` for each name of a ``from module import name``."""

    def __str__(self) -> str:
        shown = self.file.relative_to(REPO) if self.file.is_relative_to(REPO) else self.file.name
        return f"{shown}:{self.line}: imports {self.module}"


def imports_of(path: Path) -> list[Import]:
    imports: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            imports.extend(Import(path, node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imports.append(Import(path, node.lineno, node.module))
            imports.extend(
                Import(path, node.lineno, f"{node.module}.{alias.name}") for alias in node.names
            )
    return imports


def modules(part: str) -> list[Path]:
    return sorted((REPO / part / "src" / "meshlake" / part).rglob("*.py"))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def boundary_violations(part: str, imports: list[Import]) -> list[str]:
    """Every import of ``part``'s modules that crosses a boundary, as ``file:line: ...``."""
    found = []
    for item in imports:
        if any(_within(item.module, banned) for banned in FORBIDDEN[part]):
            found.append(f"{item} (the {part} part must not depend on it)")
            continue
        names = item.module.split(".")
        other = names[1] if names[0] == "meshlake" and len(names) > 1 else None
        if other in PARTS and other != part and any(_private(name) for name in names[2:]):
            found.append(f"{item} (private to {other}: use a public module of it)")
    return found


@pytest.mark.parametrize("part", PARTS)
def test_each_part_stays_inside_its_boundaries(part: str) -> None:
    files = modules(part)
    assert len(files) > 10, f"no modules found for {part}"
    violations = [v for path in files for v in boundary_violations(part, imports_of(path))]
    assert not violations, "\n".join(violations)


def test_the_check_sees_each_kind_of_crossing(tmp_path: Path) -> None:
    """The scanner itself: a module with one crossing of each kind, nested where they hide."""
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import deltalake\n"
        "from meshlake.platform import Settings\n"
        "if TYPE_CHECKING:\n"
        "    from meshlake.orchestration import run\n"
        "def f():\n"
        "    import pyspark.sql\n"
        "    from meshlake.platform.cli import _output\n"
        "    from meshlake.platform._governance import GovernanceClient\n"
        "    from delta.tables import DeltaTable\n"
    )

    def lines(part: str) -> list[int]:
        return sorted({int(v.split(":")[1]) for v in boundary_violations(part, imports_of(source))})

    assert lines("governance") == [5, 7, 8, 9, 10]
    assert lines("orchestration") == [8, 9]
    assert lines("platform") == [5]
