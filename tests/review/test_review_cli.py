"""``meshlake review`` on a git repository holding the sample mesh: exit codes and the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from meshlake.governance.cli import register
from tests.review.conftest import (
    EMPLOYEES,
    SALES_READS_EMPLOYEES,
    Contract,
    drop_column,
    edit_yaml,
    git,
    stop_sharing,
)

pytestmark = pytest.mark.integration

MESHLAKE = Path(sys.executable).parent / "meshlake"


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(_app(), ["review", *args])
    return result.exit_code, result.stdout


def test_removing_a_column_another_domain_reads_names_that_consumer_and_exits_1(
    mesh_repo: Path,
) -> None:
    """The issue's done-when, through the installed ``meshlake`` command."""
    edit_yaml(mesh_repo, EMPLOYEES, lambda contract: drop_column(contract, "full_name"))
    edit_yaml(
        mesh_repo, SALES_READS_EMPLOYEES, lambda agreement: stop_sharing(agreement, "full_name")
    )
    git(mesh_repo, "commit", "-q", "-am", "hr: drop full_name")

    done = subprocess.run(
        [str(MESHLAKE), "review", "--base", "HEAD~1", "--root", str(mesh_repo)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 1, done.stderr
    report = done.stdout
    assert report.startswith("<!-- meshlake-review -->\n## meshlake review: ❌ 1 violation")
    assert (
        "- breaking_changes: hr.employees.employees.full_name: column full_name removed without a "
        "major version bump of contract hr.employees.employees (1.0.0 -> 1.0.0)"
    ) in report
    row = next(
        line
        for line in report.splitlines()
        if line.startswith("| `hr.employees.employees.full_name`")
    )
    assert "`sales.account_manager_performance`" in row
    assert "account_manager_performance.full_name" in row


def test_adding_a_nullable_column_is_compatible_and_exits_0(mesh_repo: Path) -> None:
    def add(contract: Contract) -> None:
        contract["schema"][0]["properties"].append(
            {
                "name": "office",
                "logicalType": "string",
                "physicalType": "STRING",
                "description": "Office the employee works from.",
                "classification": "internal",
            }
        )

    edit_yaml(mesh_repo, EMPLOYEES, add)

    code, report = run("--base", "HEAD", "--root", str(mesh_repo))

    assert code == 0, report
    assert "## meshlake review: ✅ no violations" in report
    assert (
        "| `hr.employees.employees.office` | column office added | `hr.employees.employees` 1.0.0 → 1.0.0 |"
        in report
    )
    assert "### Breaking changes" not in report


def test_a_major_version_bump_lets_a_breaking_change_through_with_a_warning(
    mesh_repo: Path,
) -> None:
    def bump(contract: Contract) -> None:
        drop_column(contract, "full_name")
        contract["version"] = "2.0.0"

    edit_yaml(mesh_repo, EMPLOYEES, bump)
    edit_yaml(
        mesh_repo, SALES_READS_EMPLOYEES, lambda agreement: stop_sharing(agreement, "full_name")
    )
    edit_yaml(
        mesh_repo,
        "domains/hr/products/employees/product.yaml",
        lambda product: product["outputPorts"][0].update(version="2.0.0"),
    )
    for consumer in (
        "sales/products/account_manager_performance",
        "hr/products/engagement_retention",
    ):
        edit_yaml(
            mesh_repo,
            f"domains/{consumer}/product.yaml",
            lambda product: next(
                port
                for port in product["inputPorts"]
                if port["contractId"] == "hr.employees.employees"
            ).update(version="2.0.0"),
        )

    code, output = run("--base", "HEAD", "--root", str(mesh_repo), "--format", "json")

    report = json.loads(output)
    assert code == 0, report["violations"]
    [change] = report["changes"]["breaking"]
    assert change["major_bump"] is True
    assert [consumer["product"] for consumer in change["consumers"]] == [
        "sales.account_manager_performance"
    ]
    assert any(warning.startswith("breaking_changes:") for warning in report["warnings"])


def test_an_unclassified_column_that_looks_personal_is_a_violation(mesh_repo: Path) -> None:
    def add(contract: Contract) -> None:
        contract["schema"][0]["properties"].append(
            {
                "name": "private_contact",
                "logicalType": "string",
                "physicalType": "STRING",
                "description": "Where to reach the employee out of hours.",
                "examples": ["jane.doe@example.org"],
            }
        )

    edit_yaml(mesh_repo, EMPLOYEES, add)

    code, output = run("--base", "HEAD", "--root", str(mesh_repo), "--format", "json")

    report = json.loads(output)
    assert code == 1
    assert report["suspected_personal"] == [
        {
            "column": "hr.employees.employees.private_contact",
            "kind": "email",
            "evidence": "examples",
            "classification": "",
        }
    ]
    assert (
        "personal_data_classified: column hr.employees.employees.private_contact looks like personal "
        "data (email, from its examples) but has no classification"
    ) in report["violations"]
    # The publication policies agree: every column needs a classification.
    assert any(item.startswith("column_documentation:") for item in report["violations"])


def test_an_unknown_ref_is_a_usage_error(mesh_repo: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["review", "--base", "no-such-branch", "--root", str(mesh_repo)]
    )
    assert result.exit_code == 2
    assert "unknown git ref 'no-such-branch'" in " ".join(result.stderr.split())


def test_a_folder_outside_git_is_a_usage_error(tmp_path: Path, mesh_repo: Path) -> None:
    import shutil

    plain = tmp_path / "plain"
    shutil.copytree(mesh_repo, plain, ignore=shutil.ignore_patterns(".git"))
    result = CliRunner().invoke(_app(), ["review", "--base", "HEAD", "--root", str(plain)])
    assert result.exit_code == 2
    assert "is not inside a git repository" in " ".join(result.stderr.split())


def test_a_bad_format_is_a_usage_error(mesh_repo: Path) -> None:
    code, _ = run("--base", "HEAD", "--root", str(mesh_repo), "--format", "html")
    assert code == 2
