"""A new team's path, as a newcomer walks it: three commands publish a governed product.

On a git copy of the sample mesh: `meshlake domain new`, `meshlake product new` reading hr's
employee register (another domain, so an agreement request is written and hr's owner approves it,
as in review), then `meshlake materialize` publishes the product through the embedded governance
service. The catalog is then read over real HTTP, the table with delta-rs, and `meshlake review`
judges the change against the base commit. One Spark run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from deltalake import DeltaTable

from meshlake.governance import start_embedded
from tests.helpers import REPO

pytestmark = pytest.mark.e2e

PRODUCT = "field_service.staff"
AGREEMENT = "domains/field_service/agreements/field-service-staff-reads-hr-employees.yaml"
PERSONAL = {"full_name", "email", "birth_date", "annual_salary"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


class Team:
    """The new team's terminal: the meshlake command on one project and one state folder."""

    def __init__(self, project: Path, home: Path) -> None:
        self.project, self.home = project, home
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in ("MESHLAKE_GOVERNANCE_URL", "MESHLAKE_GOVERNANCE_TOKEN", "MESHLAKE_DATABASE_URL")
        }
        self.env |= {
            "MESHLAKE_PROJECT": str(project),
            "MESHLAKE_HOME": str(home),
            "MESHLAKE_SPARK_MASTER": "local[2]",
            "COLUMNS": "200",
        }

    def meshlake(self, *args: str) -> subprocess.CompletedProcess[str]:
        executable = Path(sys.executable).with_name("meshlake")
        return subprocess.run(
            [str(executable), *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.project,
            check=False,
        )


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = tmp_path_factory.mktemp("onboarding") / "mesh"
    for folder in ("domains", "infra"):
        shutil.copytree(
            REPO / folder, project / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "the mesh before the new team")
    team = Team(project, tmp_path_factory.mktemp("onboarding-home"))

    started = time.monotonic()
    domain = team.meshlake(
        "domain", "new", "field_service", "--zone", "emea", "--owner", "ana@example.com"
    )
    assert domain.returncode == 0, domain.stdout + domain.stderr
    product = team.meshlake("product", "new", PRODUCT, "--from", "hr.employees.employees")
    assert product.returncode == 0, product.stdout + product.stderr
    # hr's owner approves the request in review: the provider's step, not the new team's.
    with (project / AGREEMENT).open("a", encoding="utf-8") as file:
        file.write("approvedBy: ines.moreau@example.com\n")
    published = team.meshlake("materialize", PRODUCT, "--upstream")
    seconds = time.monotonic() - started
    return {
        "team": team,
        "domain": domain,
        "product": product,
        "published": published,
        "seconds": seconds,
    }


@pytest.fixture(scope="module")
def catalog(onboarded: dict[str, Any]) -> Iterator[httpx.Client]:
    """The governance service started again on the run's state folder."""
    saved = os.environ.pop("MESHLAKE_DATABASE_URL", None)
    service = start_embedded(onboarded["team"].home)
    client = httpx.Client(
        base_url=service.url, headers={"Authorization": f"Bearer {service.token}"}, timeout=30
    )
    try:
        yield client
    finally:
        client.close()
        service.stop()
        if saved is not None:
            os.environ["MESHLAKE_DATABASE_URL"] = saved


def test_three_commands_publish_the_product_in_under_ten_minutes(
    onboarded: dict[str, Any],
) -> None:
    published = onboarded["published"]

    assert published.returncode == 0, published.stdout + published.stderr
    lines = [line for line in published.stdout.splitlines() if PRODUCT in line]
    assert lines and "published" in lines[0], published.stdout
    assert "note: " in onboarded["product"].stdout and "approve" in onboarded["product"].stdout
    assert onboarded["seconds"] < 600


def test_the_catalog_records_the_published_version_with_the_contract_columns(
    onboarded: dict[str, Any], catalog: httpx.Client
) -> None:
    project = onboarded["team"].project
    contract = yaml.safe_load(
        (project / "domains/field_service/products/staff/contract.yaml").read_text()
    )
    columns = [prop["name"] for prop in contract["schema"][0]["properties"]]
    products = {item["ref"]: item for item in catalog.get("/api/v1/products").json()}

    datasets = {dataset["name"]: dataset for dataset in products[PRODUCT]["datasets"]}
    assert set(datasets) == {"staff"}
    staff = datasets["staff"]
    assert [column["name"] for column in staff["columns"]] == columns
    assert staff["versions"], "no version recorded"
    version = staff["versions"][0]
    employees = {d["name"]: d for d in products["hr.employees"]["datasets"]}["employees"]
    # Every employee, no row scope in the agreement: the new product has as many rows.
    assert version["row_count"] == employees["versions"][0]["row_count"] > 0
    table = DeltaTable(staff["location"], version=version["delta_version"]).to_pyarrow_table()
    assert table.num_rows == version["row_count"]
    assert table.column_names == columns
    assert PERSONAL.isdisjoint(table.column_names)


def test_the_review_of_the_new_team_passes(onboarded: dict[str, Any]) -> None:
    review = onboarded["team"].meshlake("review", "--base", "main")

    assert review.returncode == 0, review.stdout + review.stderr
    assert "no violations" in review.stdout
    assert f"`{PRODUCT}` | product added" in review.stdout
