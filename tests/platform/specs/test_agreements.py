"""Sharing agreements as code: the loader's problems (file, line, field), the coverage helper, the
expired and unused-agreement warnings, ``meshlake validate`` on them, and the agreement JSON Schema.

A case is a folder under ``agreements/``: ``overlay/`` files copied over the sample mesh, an optional
``remove.txt`` of paths to delete, and ``expected.txt`` with the exact lines: every error, and the
warnings about the overlay's own files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from meshlake.platform import PortRef, ProductRef
from meshlake.platform.specs import AGREEMENT_SCHEMA_FILE, load_mesh, validate_mesh
from meshlake.platform.specs._yaml import load_located_yaml
from tests.helpers import MINI_MESH, REPO

pytestmark = pytest.mark.unit

CASES = Path(__file__).parent / "agreements"
TODAY = date(2026, 12, 4)
SAMPLE = load_mesh(REPO)
AGREEMENT_FILES = sorted((REPO / "domains").glob("*/agreements/*.yaml"))
MANAGERS = ProductRef("sales", "account_manager_performance")
EMPLOYEES = PortRef("hr", "employees", "employees")


def _copy_sample(target: Path) -> Path:
    for folder in ("domains", "infra"):
        shutil.copytree(REPO / folder, target / folder)
    return target


def _build(case: Path, target: Path) -> tuple[Path, set[str]]:
    _copy_sample(target)
    mine: set[str] = set()
    if (case / "overlay").is_dir():
        shutil.copytree(case / "overlay", target, dirs_exist_ok=True)
        mine = {str(path.relative_to(case / "overlay")) for path in (case / "overlay").rglob("*")}
    if (case / "remove.txt").is_file():
        for relative in (case / "remove.txt").read_text().split():
            (target / relative).unlink()
    return target, mine


@pytest.mark.parametrize("case", sorted(CASES.iterdir()), ids=lambda path: path.name)
def test_agreement_case_reports_its_exact_lines(case: Path, tmp_path: Path) -> None:
    project, mine = _build(case, tmp_path / "mesh")
    expected = (case / "expected.txt").read_text().splitlines()

    report = validate_mesh(project, today=TODAY)

    found = [f"error: {problem}" for problem in [*report.problems, *report.agreement_problems]]
    found += [f"warning: {item}" for item in report.warnings if item.file in mine]
    assert found == expected
    assert report.ok == all(line.startswith("warning: ") for line in expected)


def test_every_problem_the_brief_names_has_a_case() -> None:
    names = {case.name for case in CASES.iterdir() if (case / "expected.txt").is_file()}
    assert names >= {
        "bad_shape",
        "unknown_port",
        "own_domain_port",
        "bad_columns",  # unknown column, masked not among columns, unknown row-scope column
        "end_before_start",
        "duplicate_name",
        "consumer_product",  # unknown, and in another domain
        "bad_sla",  # unknown property, unknown unit, looser than the contract
        "unread_port",
        "uncovered",
        "out_of_date",
        "transform_reads_more",  # the transform reads columns the agreement does not deliver
    }


def test_the_sample_mesh_validates_with_one_warning_for_the_expired_agreement() -> None:
    report = validate_mesh(REPO, today=TODAY)

    assert report.ok, [str(problem) for problem in report.problems + report.agreement_problems]
    assert report.mesh is not None
    assert sorted(report.mesh.agreements) == [
        "hr-field-staffing-reads-pump-health-tight-sla",
        "operations-reliability-reads-orders-2025",
        "sales-account-managers-read-employees",
    ]
    assert [str(item) for item in report.warnings] == [
        "domains/operations/agreements/reliability-reads-orders-2025.yaml:12: end: agreement "
        "'operations-reliability-reads-orders-2025' expired on 2025-09-30; nothing may read under "
        "it: set a later end to renew it, or delete the file"
    ]


def test_agreement_problems_fail_validation_but_not_the_mesh(tmp_path: Path) -> None:
    project, _ = _build(CASES / "uncovered", tmp_path / "uncovered")
    uncovered = validate_mesh(project, today=TODAY)
    project, _ = _build(CASES / "bad_columns", tmp_path / "columns")
    columns = validate_mesh(project, today=TODAY)
    project, _ = _build(CASES / "bad_columns", tmp_path / "product")
    product_file = project / "domains/sales/products/customers/product.yaml"
    product_file.write_text(product_file.read_text().replace("status: active", "status: actve", 1))
    broken_product = validate_mesh(project, today=TODAY)

    # Who may read never stops how products build: the mesh loads, validation fails, and the
    # platform refuses the one product that reads without an agreement when it runs.
    assert uncovered.mesh is not None and uncovered.problems == [] and not uncovered.ok
    assert columns.mesh is not None and columns.problems == [] and not columns.ok
    # A wrong column keeps the agreement (the review still names it); it is reported all the same.
    assert "sales-reads-employee-columns" in columns.mesh.agreements
    assert broken_product.mesh is None and broken_product.problems
    assert broken_product.agreement_problems == columns.agreement_problems


def test_agreement_for_covers_that_product_that_port_within_its_dates() -> None:
    found = SAMPLE.agreement_for(MANAGERS, EMPLOYEES, date(2026, 1, 1))

    assert found is not None and found.name == "sales-account-managers-read-employees"
    assert found.domain == "sales"
    assert found.file == REPO / "domains/sales/agreements/account-managers-read-employees.yaml"
    assert (
        SAMPLE.agreement_for(
            "sales.account_manager_performance", "hr.employees.employees", date(2027, 12, 31)
        )
        is found
    )
    assert SAMPLE.agreement_for(MANAGERS, EMPLOYEES, date(2025, 12, 31)) is None
    assert SAMPLE.agreement_for(MANAGERS, EMPLOYEES, date(2028, 1, 1)) is None
    assert SAMPLE.agreement_for("sales.customers", EMPLOYEES, date(2026, 6, 1)) is None
    assert SAMPLE.agreement_for(MANAGERS, "sales.orders.orders", date(2026, 6, 1)) is None


def test_agreement_for_ignores_people_and_teams() -> None:
    # The expired one is a person's; the tight-SLA one a team's: neither covers a product.
    on = date(2025, 6, 1)
    assert SAMPLE.agreement_for("operations.pump_health", "sales.orders.orders", on) is None
    team = SAMPLE.agreements["hr-field-staffing-reads-pump-health-tight-sla"]
    assert team.consumer_product is None
    assert team.port_refs == (PortRef("operations", "pump_health", "pump_health"),)


def test_agreement_for_prefers_the_one_that_runs_longest(tmp_path: Path) -> None:
    project = _copy_sample(tmp_path / "mesh")
    original = project / "domains/sales/agreements/account-managers-read-employees.yaml"
    longer = original.read_text().replace(
        "name: sales-account-managers-read-employees", "name: sales-managers-read-employees-2029"
    )
    (original.parent / "renewal.yaml").write_text(
        longer.replace("end: 2027-12-31", "end: 2029-12-31")
    )

    mesh = load_mesh(project)

    assert mesh.agreement_for(MANAGERS, EMPLOYEES, date(2027, 6, 1)).name == (  # type: ignore[union-attr]
        "sales-managers-read-employees-2029"
    )


def test_terms_are_the_agreements_own_then_the_contracts() -> None:
    spec = SAMPLE.agreements["sales-account-managers-read-employees"]
    contract = SAMPLE.port(EMPLOYEES).contract

    terms = [(term.property, str(term), term.source) for term in spec.terms(contract)]

    assert terms == [
        ("latency", "latency 12 h", "agreement"),
        ("frequency", "frequency 1 d", "contract"),
        ("retention", "retention 7 y", "contract"),
        ("availability", "availability 99.5%", "contract"),
    ]


def test_the_sample_agreement_takes_only_what_the_transform_reads() -> None:
    """The columns of hr.employees that transform.sql reads are exactly the agreement's columns."""
    from meshlake.platform.lineage import port_column_lineage

    product = SAMPLE.product(MANAGERS)
    edges = port_column_lineage(SAMPLE, product, product.ports["account_manager_performance"])
    read = {edge.input_column for edge in edges if edge.input_port == "employees"}
    shared = SAMPLE.agreements["sales-account-managers-read-employees"].port(EMPLOYEES)

    assert shared is not None and shared.columns is not None
    assert read == set(shared.columns)
    assert shared.masked == ["full_name"]


def _meshlake(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("meshlake")
    env = {**os.environ, "MESHLAKE_PROJECT": str(project), "COLUMNS": "400"}
    return subprocess.run(
        [str(executable), *args], capture_output=True, text=True, env=env, check=False
    )


def test_meshlake_validate_names_the_uncovered_input_port(tmp_path: Path) -> None:
    project, _ = _build(CASES / "uncovered", tmp_path / "mesh")

    result = _meshlake(project, "validate")

    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith(
        "domains/sales/products/account_manager_performance/product.yaml:30: "
        "inputPorts[0].contractId: input port 'employees' of sales.account_manager_performance "
        "reads hr.employees.employees of domain 'hr' with no sharing agreement in force on "
    )
    assert "declare an agreement in domains/sales/agreements/" in result.stdout
    assert "1 problem(s)" in result.stderr


def test_meshlake_validate_passes_on_the_sample_mesh_and_warns_of_the_expired_agreement() -> None:
    # Uses the real date: the sample agreement runs to 2027-12-31, and after that the sample mesh
    # rightly fails until someone renews it.
    result = _meshlake(REPO, "validate")

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "warning: domains/operations/agreements/reliability-reads-orders-2025.yaml:12: end: "
        "agreement 'operations-reliability-reads-orders-2025' expired on 2025-09-30"
    ) in result.stdout
    assert "3 sharing agreements" in result.stdout


def test_the_mini_mesh_has_no_cross_domain_input_and_still_validates() -> None:
    report = validate_mesh(MINI_MESH, today=TODAY)

    assert report.ok and report.mesh is not None
    assert report.mesh.agreements == {}
    assert len(report.mesh.domains) == 1


# -- the JSON Schema -------------------------------------------------------------------------


def _schema_errors(file: Path) -> list[str]:
    schema = json.loads(AGREEMENT_SCHEMA_FILE.read_text())
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    # JSON has no dates: a YAML date is a string to a JSON Schema.
    document = json.loads(json.dumps(load_located_yaml(file).data, default=str))
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_there_are_sample_agreements_to_check() -> None:
    assert len(AGREEMENT_FILES) == 3


@pytest.mark.parametrize("file", AGREEMENT_FILES, ids=lambda path: str(path.relative_to(REPO)))
def test_sample_agreement_is_valid_against_the_json_schema(file: Path) -> None:
    assert _schema_errors(file) == []


def test_the_json_schema_refuses_what_the_loader_refuses_by_shape() -> None:
    errors = _schema_errors(CASES / "bad_shape/overlay/domains/sales/agreements/bad.yaml")

    assert any(error.startswith("name: 'Sales_Reads' does not match") for error in errors)
    assert any(error.startswith("consumer/kind: 'robot' is not one of") for error in errors)
    assert any("'purpose' is a required property" in error for error in errors)
    assert any("'purpse' was unexpected" in error for error in errors)
    assert any(error.startswith("ports: [] should be non-empty") for error in errors)
