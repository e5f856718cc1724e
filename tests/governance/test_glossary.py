"""The business glossary over real HTTP: the shipped terms, their columns, search through them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from meshlake.governance import start_embedded
from meshlake.governance._glossary_file import GLOSSARY_FILE, load_glossary, sync_glossary
from meshlake.platform import load_mesh
from meshlake.platform._governance import GovernanceClient
from meshlake.platform.specs import SpecError
from tests.governance.conftest import BOOTSTRAP, Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

MESH = load_mesh(REPO)
SHIPPED = load_glossary(REPO / GLOSSARY_FILE)


@pytest.fixture(scope="module")
def glossary(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        client.sync(MESH, tmp_path_factory.mktemp("state"))
        names = sync_glossary(client, REPO)
    assert names == [term.name for term in SHIPPED]
    return service


def _catalog_columns() -> dict[str, str]:
    return {
        f"{port.ref}.{prop.name}": prop.name
        for port in MESH.ports
        for prop in port.contract.columns
    }


def test_the_shipped_glossary_links_real_columns_of_every_sample_domain() -> None:
    columns = _catalog_columns()
    linked = [ref for term in SHIPPED for ref in term.columns]

    assert len(SHIPPED) >= 10
    assert set(linked) <= set(columns), set(linked) - set(columns)
    assert {ref.split(".")[0] for ref in linked} == {domain for domain in MESH.domains}


def test_every_term_is_listed_with_its_columns_as_the_catalog_holds_them(glossary: Service) -> None:
    with glossary.client() as client:
        terms = {term["name"]: term for term in client.get("/api/v1/glossary").json()}
        one = client.get("/api/v1/glossary/Engagement score").json()
        dataset = client.get("/api/v1/datasets/hr.employees.employees").json()

    assert set(terms) == {term.name for term in SHIPPED}
    for term in SHIPPED:
        assert [column["ref"] for column in terms[term.name]["columns"]] == term.columns
        assert all(column["in_catalog"] for column in terms[term.name]["columns"])
    score = next(column for column in dataset["columns"] if column["name"] == "engagement_score")
    assert one["columns"][0] == {
        "ref": "hr.employees.employees.engagement_score",
        "dataset": "hr.employees.employees",
        "column": "engagement_score",
        "in_catalog": True,
        "type": score["type"],
        "description": score["description"],
        "classification": score["classification"],
    }


def test_a_term_is_found_by_its_exact_name_first(glossary: Service) -> None:
    with glossary.client() as client:
        page = client.get("/api/v1/search", params={"q": "Failure risk"}).json()

    assert (page["hits"][0]["ref"], page["hits"][0]["match"]) == ("term:Failure risk", "exact_name")


def test_search_finds_columns_ports_and_products_through_a_linked_term(glossary: Service) -> None:
    word = "quindecennial"  # in no name, description or column of the sample mesh
    with glossary.client() as client:
        before = client.get("/api/v1/search", params={"q": word}).json()
        put = client.put(
            "/api/v1/glossary/Quindecennial review",
            json={
                "definition": "The review every fifteen years of an employment contract.",
                "columns": ["hr.employees.employees.hire_date"],
            },
        )
        found = client.get("/api/v1/search", params={"q": word, "limit": 50}).json()
        relinked = client.put(
            "/api/v1/glossary/Quindecennial review",
            json={
                "definition": "The review every fifteen years of an employment contract.",
                "columns": ["sales.customers.customers.signup_date"],
            },
        )
        after = client.get("/api/v1/search", params={"q": word, "limit": 50}).json()

    assert before["total"] == 0
    assert put.status_code == relinked.status_code == 200
    assert {(hit["kind"], hit["ref"]) for hit in found["hits"]} == {
        ("term", "term:Quindecennial review"),
        ("column", "hr.employees.employees.hire_date"),
        ("dataset", "hr.employees.employees"),
        ("product", "hr.employees"),
    }
    # The old columns lose the term's text; the new ones gain it.
    assert {(hit["kind"], hit["ref"]) for hit in after["hits"]} == {
        ("term", "term:Quindecennial review"),
        ("column", "sales.customers.customers.signup_date"),
        ("dataset", "sales.customers.customers"),
        ("product", "sales.customers"),
    }


def test_linking_columns_needs_write_access_to_their_domains(glossary: Service) -> None:
    steward = glossary.token(
        "hr-steward@example.com", grants=[{"role": "domain_member", "domain": "hr"}]
    )
    reader = glossary.token("reader@example.com", grants=[{"role": "consumer"}])
    body = {"definition": "Date of joining.", "columns": ["hr.employees.employees.hire_date"]}
    cross = {"definition": "x", "columns": ["sales.customers.customers.signup_date"]}
    with glossary.client(steward) as client:
        own = client.put("/api/v1/glossary/Hire date", json=body)
        other = client.put("/api/v1/glossary/Signup date", json=cross)
        takeover = client.put("/api/v1/glossary/Customer", json=body)
    with glossary.client(reader) as client:
        refused = client.put("/api/v1/glossary/Hire date", json=body)
        readable = client.get("/api/v1/glossary/Hire date")
    with glossary.client(None) as client:
        anonymous = client.get("/api/v1/glossary")

    assert own.status_code == 200
    assert other.status_code == 403
    assert "domain 'sales'" in other.json()["detail"]
    # Replacing a term also unlinks its old columns: that needs their domains too.
    assert takeover.status_code == 403
    assert refused.status_code == 403
    assert readable.status_code == 200
    assert anonymous.status_code == 401
    with glossary.client() as admin:
        audit = admin.get("/api/v1/audit", params={"action": "glossary.put"}).json()
    assert ("hr-steward@example.com", "Hire date") in {
        (entry["principal"], entry["target"]) for entry in audit
    }


@pytest.mark.parametrize(
    ("columns", "field"),
    [
        (["hr.employees.employees.no_such_column"], "columns[0]"),
        (["hr.employees.employees.employee_id", "hr.nothing.here.id"], "columns[1]"),
        (["not a reference"], "columns.0"),
    ],
)
def test_bad_column_references_are_refused_naming_the_field(
    glossary: Service, columns: list[str], field: str
) -> None:
    with glossary.client() as client:
        response = client.put(
            "/api/v1/glossary/Broken", json={"definition": "x", "columns": columns}
        )
        missing = client.get("/api/v1/glossary/Broken")

    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}:"), response.json()
    assert missing.status_code == 404


def test_a_broken_glossary_file_names_the_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text(
        "terms:\n"
        "  - name: Customer\n"
        "    definition: Someone who buys.\n"
        "  - name: Order\n"
        "    definition: A purchase.\n"
        "    columns: [sales.orders.order_id]\n"
        "  - name: Customer\n"
        "    definition: Again.\n"
    )

    with pytest.raises(SpecError) as error:
        load_glossary(path)
    [problem] = error.value.problems
    assert str(problem).startswith(
        f"{path}:6: terms[1].columns[0]: 'sales.orders.order_id' does not match"
    )
    path.write_text(path.read_text().replace("[sales.orders.order_id]", "[]"))
    with pytest.raises(SpecError) as duplicate:
        load_glossary(path)
    assert [str(problem) for problem in duplicate.value.problems] == [
        f"{path}:7: terms[2].name: 'Customer' is already defined by terms[0]"
    ]


def test_meshlake_governance_sync_registers_the_glossary(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MESHLAKE_GOVERNANCE_URL", "MESHLAKE_DATABASE_URL")
    }
    env |= {"MESHLAKE_HOME": str(tmp_path), "MESHLAKE_PROJECT": str(REPO)}
    executable = Path(sys.executable).with_name("meshlake")

    done = subprocess.run(
        [str(executable), "governance", "sync"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert (
        f"{len(MESH.products)} products, {len(SHIPPED)} glossary terms and "
        f"{len(MESH.agreements)} sharing agreements" in done.stdout
    )
    # Approved in review (approvedBy): active; expired by its dates; the tight one active too.
    assert "agreement sales-account-managers-read-employees: active" in done.stdout
    assert "agreement operations-reliability-reads-orders-2025: expired" in done.stdout
    assert "agreement hr-field-staffing-reads-pump-health-tight-sla: active" in done.stdout
    service = start_embedded(tmp_path)
    try:
        with httpx.Client(
            base_url=service.url, headers={"Authorization": f"Bearer {service.token}"}
        ) as client:
            terms = client.get("/api/v1/glossary").json()
    finally:
        service.stop()
    assert sorted(term["name"] for term in terms) == sorted(term.name for term in SHIPPED)
