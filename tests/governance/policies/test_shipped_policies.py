"""Each shipped publication policy allows the whole sample mesh and denies a crafted violation of it.

The violations are made by editing the input of a real sample product (the shape the gate and the
review send), so a policy that stopped matching real inputs would fail here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from meshlake.governance.policies import SHIPPED_POLICIES, PolicyEngine, publication_input
from meshlake.platform.specs import load_mesh
from tests.helpers import REPO

pytestmark = pytest.mark.unit

ENGINE = PolicyEngine(SHIPPED_POLICIES)
MESH = load_mesh(REPO)
Input = dict[str, Any]


def sample(ref: str) -> Input:
    return copy.deepcopy(publication_input(MESH, MESH.product(ref)))


@pytest.mark.parametrize("ref", sorted(str(ref) for ref in MESH.products))
def test_the_sample_mesh_is_allowed(ref: str) -> None:
    decision = ENGINE.evaluate("publication", sample(ref))
    assert decision.allowed, [reason.message for reason in decision.denials]


def test_every_shipped_publication_policy_is_covered_here() -> None:
    assert set(ENGINE.bundles["publication"].policies) == {policy for policy, *_ in VIOLATIONS}


def _no_owner(document: Input) -> None:
    document["product"]["owners"] = []


def _undocumented_column(document: Input) -> None:
    document["product"]["ports"][0]["columns"][1]["description"] = ""


def _unmasked_personal_gold(document: Input) -> None:
    # sales.customers carries e-mail and phone; as a gold product they would need masking.
    document["product"]["tier"] = "gold"


def _no_retention(document: Input) -> None:
    del document["product"]["ports"][0]["sla"]["retention"]


def _retention_too_long(document: Input) -> None:
    document["product"]["ports"][0]["sla"]["retention"]["days"] = 20 * 365


def _camel_case_column(document: Input) -> None:
    document["product"]["ports"][0]["columns"][0]["name"] = "employeeId"


def _source_aligned_reads_other_domain(document: Input) -> None:
    document["product"]["tier"] = "bronze"


def _cross_region_without_allowance(document: Input) -> None:
    employees = next(
        item for item in document["product"]["inputs"] if item["contract_id"].startswith("hr.")
    )
    employees["contract_id"] = "hr.engagement_retention.engagement_retention"


VIOLATIONS: list[tuple[str, str, Callable[[Input], None], str]] = [
    ("ownership", "hr.employees", _no_owner, "product hr.employees has no owner"),
    (
        "column_documentation",
        "hr.employees",
        _undocumented_column,
        "column hr.employees.employees.full_name has no description",
    ),
    (
        "personal_data_masking",
        "sales.customers",
        _unmasked_personal_gold,
        "column sales.customers.customers.email is personal data in a gold product",
    ),
    (
        "sla_declared",
        "operations.pump_health",
        _no_retention,
        "output port operations.pump_health.pump_health states no retention",
    ),
    (
        "retention_limit",
        "sales.customers",
        _retention_too_long,
        "keeps personal data (column full_name) for 7300 days; the maximum is 3650 days",
    ),
    (
        "naming",
        "hr.employees",
        _camel_case_column,
        'column name "employeeId" of hr.employees.employees is not lower_snake_case',
    ),
    (
        "source_aligned_inputs",
        "sales.account_manager_performance",
        _source_aligned_reads_other_domain,
        "source-aligned product sales.account_manager_performance reads hr.employees.employees of domain hr",
    ),
    (
        "residency",
        "sales.account_manager_performance",
        _cross_region_without_allowance,
        "reads hr.engagement_retention.engagement_retention from zone emea in region westeurope "
        "without a cross-region allowance",
    ),
]


@pytest.mark.parametrize(
    ("policy", "ref", "violate", "expected"), VIOLATIONS, ids=[item[0] for item in VIOLATIONS]
)
def test_each_policy_denies_a_crafted_violation(
    policy: str, ref: str, violate: Callable[[Input], None], expected: str
) -> None:
    document = sample(ref)
    violate(document)
    decision = ENGINE.evaluate("publication", document)
    assert not decision.allowed
    matched = [reason for reason in decision.denials if expected in reason.message]
    assert [reason.policy for reason in matched] == [policy], decision.denials


def test_the_exception_for_the_account_managers_name_is_a_recorded_warning() -> None:
    decision = ENGINE.evaluate("publication", sample("sales.account_manager_performance"))
    assert [(reason.policy, reason.severity) for reason in decision.reasons] == [
        ("personal_data_masking", "warn")
    ]
