"""Which contract edits are breaking, and the consumers a breaking change hits (from the specs)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from meshlake.governance.review import compare
from meshlake.governance.review._consumers import SpecConsumers, attach_consumers
from meshlake.platform.specs import load_mesh
from tests.helpers import REPO
from tests.review.conftest import (
    EMPLOYEES,
    EMPLOYEES_PRODUCT,
    Contract,
    column,
    drop_column,
    edit_yaml,
)

pytestmark = pytest.mark.unit

BASE = load_mesh(REPO)
ORDERS = "domains/sales/products/orders/contract.yaml"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for folder in ("domains", "infra"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def _set(name: str, **values: Any) -> Callable[[Contract], None]:
    return lambda contract: column(contract, name).update(values)


def _sla(name: str, value: Any, unit: str | None = None) -> Callable[[Contract], None]:
    def change(contract: Contract) -> None:
        item = next(item for item in contract["slaProperties"] if item["property"] == name)
        item["value"] = value
        if unit is not None:
            item["unit"] = unit

    return change


def _rename(contract: Contract) -> None:
    column(contract, "job_title")["name"] = "title"


CASES: list[tuple[str, str, Callable[[Contract], None], str, bool]] = [
    ("removed", EMPLOYEES, lambda c: drop_column(c, "job_title"), "column_removed", True),
    ("renamed", EMPLOYEES, _rename, "column_renamed", True),
    (
        "narrowed",
        EMPLOYEES,
        _set("annual_salary", physicalType="DECIMAL(8,2)"),
        "type_narrowed",
        True,
    ),
    (
        "retyped",
        EMPLOYEES,
        _set("engagement_score", logicalType="integer", physicalType="INT"),
        "type_narrowed",
        True,
    ),
    (
        "widened",
        EMPLOYEES,
        _set("annual_salary", physicalType="DECIMAL(16,2)"),
        "type_widened",
        False,
    ),
    ("tightened", EMPLOYEES, _set("job_title", required=True), "nullability_tightened", True),
    ("relaxed", EMPLOYEES, _set("department", required=False), "nullability_relaxed", False),
    ("not unique", EMPLOYEES, _set("email", unique=False), "uniqueness_dropped", True),
    (
        "reclassified",
        EMPLOYEES,
        _set("birth_date", classification="personal"),
        "classification_changed",
        True,
    ),
    ("slower", EMPLOYEES, _sla("latency", 3), "sla_loosened", True),
    ("shorter retention", EMPLOYEES, _sla("retention", 5), "sla_loosened", True),
    ("less available", EMPLOYEES, _sla("availability", "99%"), "sla_loosened", True),
    ("faster", EMPLOYEES, _sla("latency", 12, "h"), "sla_tightened", False),
    (
        "described",
        EMPLOYEES,
        _set("job_title", description="Job title today."),
        "description_changed",
        False,
    ),
]


@pytest.mark.parametrize(
    ("file", "edit", "kind", "breaking"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_kind_of_change(
    copy: Path, file: str, edit: Callable[[Contract], None], kind: str, breaking: bool
) -> None:
    edit_yaml(copy, file, edit)
    [change] = compare(BASE, load_mesh(copy))
    assert (change.kind, change.breaking) == (kind, breaking)
    assert change.target.startswith("hr.employees.employees")
    assert (change.version_before, change.version_after) == ("1.0.0", "1.0.0")
    assert not change.major_bump


def test_a_retired_product_is_breaking_and_hits_its_readers(copy: Path) -> None:
    edit_yaml(copy, EMPLOYEES_PRODUCT, lambda product: product.update(status="retired"))
    changes = compare(BASE, load_mesh(copy))
    attach_consumers(changes, SpecConsumers(BASE), None)
    [change] = changes
    assert (change.kind, change.breaking, change.target) == (
        "product_retired",
        True,
        "hr.employees.employees",
    )
    assert sorted(consumer.product for consumer in change.consumers) == [
        "hr.engagement_retention",
        "sales.account_manager_performance",
    ]


def test_a_removed_column_hits_the_consumer_columns_computed_from_it(copy: Path) -> None:
    edit_yaml(copy, EMPLOYEES, lambda contract: drop_column(contract, "department"))
    changes = compare(BASE, load_mesh(copy))
    attach_consumers(changes, SpecConsumers(BASE), None)
    [change] = changes
    hits = {consumer.product: consumer.columns for consumer in change.consumers}
    assert "account_manager_performance.department" in hits["sales.account_manager_performance"]
    assert all(consumer.source == "specs" for consumer in change.consumers)


def test_a_column_no_consumer_reads_hits_nobody(copy: Path) -> None:
    edit_yaml(copy, ORDERS, lambda contract: drop_column(contract, column_nobody_reads()))
    changes = compare(BASE, load_mesh(copy))
    attach_consumers(changes, SpecConsumers(BASE), None)
    [change] = changes
    assert change.breaking and change.consumers == []


def column_nobody_reads() -> str:
    """A column of sales.orders that no reader's column lineage mentions (found, not assumed)."""
    from meshlake.platform.lineage import port_column_lineage

    orders = BASE.product("sales.orders").ports["orders"].ref
    used: set[str] = set()
    for product in BASE.products.values():
        names = [binding.name for binding in product.inputs if binding.output == orders]
        for port in product.ports.values():
            used |= {
                edge.input_column
                for edge in port_column_lineage(BASE, product, port)
                if edge.input_port in names
            }
    unused = [prop.name for prop in BASE.port(orders).contract.columns if prop.name not in used]
    assert unused, "every column of sales.orders is read; pick another port for this test"
    return unused[0]


def test_unchanged_specs_have_no_changes() -> None:
    assert compare(BASE, load_mesh(REPO)) == []
