"""`meshlake domain new` and `meshlake product new`, without Spark: what they write, what they refuse.

Each test works on a copy of a mesh (the test mesh, or the sample mesh where personal data matters)
and checks the result with the same loader `meshlake validate` uses.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshlake.platform.scaffold import ProductRequest, ScaffoldError, new_domain, new_product
from meshlake.platform.scaffold._zone_edit import add_domain
from meshlake.platform.specs import load_mesh, validate_mesh
from tests.helpers import MINI_MESH, REPO

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 4)


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    project = tmp_path / "mesh"
    shutil.copytree(MINI_MESH, project, ignore=shutil.ignore_patterns("__pycache__"))
    return project


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    project = tmp_path / "sample"
    for folder in ("domains", "infra"):
        shutil.copytree(
            REPO / folder, project / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    return project


def read(file: Path) -> Any:
    return yaml.safe_load(file.read_text(encoding="utf-8"))


def product(root: Path, name: str, *ports: str, **options: Any) -> Path:
    new_product(root, ProductRequest(product=name, ports=list(ports), **options), today=TODAY)
    domain, product_name = name.split(".")
    return root / "domains" / domain / "products" / product_name


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# -- domain new -------------------------------------------------------------------------------


def test_domain_new_writes_the_domain_and_lists_it_in_its_zone(mesh: Path) -> None:
    zone_file = mesh / "infra" / "landing-zones" / "lab.yaml"
    before = zone_file.read_text().splitlines()

    result = new_domain(mesh, "beta", zone="lab", owner="bea@example.com", description="Beta work.")

    domain_file = mesh / "domains" / "beta" / "domain.yaml"
    assert result.written == [domain_file] and result.edited == [zone_file]
    written = read(domain_file)
    assert written["landingZone"] == "lab" and written["description"] == "Beta work."
    assert written["team"]["members"] == [{"username": "bea@example.com", "role": "owner"}]
    after = zone_file.read_text().splitlines()
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert changed == [("domains: [alpha]", "domains: [alpha, beta]")]
    loaded = load_mesh(mesh)
    assert loaded.domains["beta"].team.owners == ["bea@example.com"]
    assert "beta" in loaded.zones["lab"].domains
    assert "meshlake product new beta.<product>" in result.next_steps[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "# zone\nname: z\ndomains: [a, b]  # hosted here\nregion: r\n",
            "# zone\nname: z\ndomains: [a, b, new]  # hosted here\nregion: r\n",
        ),
        ("name: z\ndomains: []\n", "name: z\ndomains: [new]\n"),
        (
            "name: z\ndomains:\n  # the first team\n  - a\n  - b # second\n# tail comment\nregion: r\n",
            "name: z\ndomains:\n  # the first team\n  - a\n  - b # second\n  - new\n"
            "# tail comment\nregion: r\n",
        ),
        ("name: z\ndomains:\n- a\nregion: r\n", "name: z\ndomains:\n- a\n- new\nregion: r\n"),
        (
            "name: z  # no domains yet\nregion: r",
            "name: z  # no domains yet\nregion: r\ndomains: [new]\n",
        ),
    ],
    ids=["inline", "empty", "block-with-comments", "block-unindented", "missing"],
)
def test_the_zone_edit_changes_one_line_and_keeps_comments(text: str, expected: str) -> None:
    edited = add_domain(text, "new")

    assert edited == expected
    assert "new" in yaml.safe_load(edited)["domains"]


@pytest.mark.parametrize(
    ("name", "zone", "owner", "option", "words"),
    [
        ("alpha", "lab", "a@example.com", "NAME", "exists already"),
        ("Beta-2", "lab", "a@example.com", "NAME", "lower_snake_case"),
        ("beta", "mars", "a@example.com", "--zone", "known zones: central, lab"),
        ("beta", "central", "a@example.com", "--zone", "governance zone"),
        ("beta", "lab", "not-an-email", "--owner", "not an e-mail address"),
    ],
)
def test_domain_new_refuses_without_writing(
    mesh: Path, name: str, zone: str, owner: str, option: str, words: str
) -> None:
    before = snapshot(mesh)

    with pytest.raises(ScaffoldError) as raised:
        new_domain(mesh, name, zone=zone, owner=owner)

    assert raised.value.option == option
    assert str(raised.value).startswith(f"{option}: ") and words in str(raised.value)
    assert snapshot(mesh) == before


# -- product new ------------------------------------------------------------------------------


def test_product_new_derives_the_contract_from_its_input(mesh: Path) -> None:
    folder = product(mesh, "alpha.heavy_things", "alpha.things.things")

    contract = read(folder / "contract.yaml")
    things = read(mesh / "domains/alpha/products/things/contract.yaml")["schema"][0]["properties"]
    table = contract["schema"][0]
    assert contract["id"] == "alpha.heavy_things.heavy_things"
    assert [p["name"] for p in table["properties"]] == [p["name"] for p in things]
    by_name = {p["name"]: p for p in table["properties"]}
    assert by_name["thing_id"]["primaryKey"] is True and by_name["thing_id"]["required"] is True
    assert by_name["weight"]["physicalType"] == "DECIMAL(8,3)"
    assert by_name["label"]["physicalType"] == "STRING"
    assert by_name["kind"]["transformSourceObjects"] == ["things.kind"]
    assert table["quality"][0]["metric"] == "rowCount"
    descriptor = read(folder / "product.yaml")
    assert descriptor["inputPorts"] == [
        {"name": "things", "version": "1.0.0", "contractId": "alpha.things.things"}
    ]
    assert (
        (folder / "transform.sql")
        .read_text()
        .endswith("SELECT\n    thing_id,\n    label,\n    weight,\n    kind\nFROM things\n")
    )
    report = validate_mesh(mesh, today=TODAY)
    assert report.ok, [str(p) for p in report.problems + report.check_problems]
    assert report.mesh is not None
    spec = report.mesh.product("alpha.heavy_things")
    assert spec.ports["heavy_things"].contract.primary_key == ["thing_id"]
    assert [binding.output and str(binding.output) for binding in spec.inputs] == [
        "alpha.things.things"
    ]


def test_a_raw_source_makes_a_source_aligned_bronze_product(mesh: Path) -> None:
    folder = product(mesh, "alpha.things_copy", "alpha.raw.things")

    descriptor = read(folder / "product.yaml")
    assert {"property": "tier", "value": "bronze"} in descriptor["customProperties"]
    assert "source-aligned" in descriptor["tags"]
    columns = read(folder / "contract.yaml")["schema"][0]["properties"]
    assert [(c["name"], c["logicalType"], c["physicalType"]) for c in columns] == [
        (name, "string", "STRING") for name in ("thing_id", "label", "weight", "kind")
    ]
    assert validate_mesh(mesh, today=TODAY).ok


def notes_product(mesh: Path) -> None:
    """alpha.thing_notes: keyed by thing_id like alpha.things, with a column of its own."""
    contract = mesh.parent / "notes.yaml"
    contract.write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: notes\nversion: 1.0.0\nstatus: active\n"
        "schema:\n  - name: thing_notes\n    properties:\n"
        "      - name: thing_id\n        logicalType: string\n        primaryKey: true\n"
        "        required: true\n        description: The thing.\n        classification: internal\n"
        "      - name: note\n        logicalType: string\n        description: A remark.\n"
        "        classification: internal\n"
    )
    product(mesh, "alpha.thing_notes", "alpha.things.things", contract_file=contract)


def test_a_second_input_keyed_alike_is_joined_on_the_key(mesh: Path) -> None:
    notes_product(mesh)
    folder = product(mesh, "alpha.both", "alpha.things.things", "alpha.thing_notes.thing_notes")

    sql = (folder / "transform.sql").read_text()
    assert "LEFT JOIN thing_notes ON thing_notes.thing_id = things.thing_id" in sql
    assert "    things.kind,\n    thing_notes.note\nFROM things" in sql
    columns = read(folder / "contract.yaml")["schema"][0]["properties"]
    note = columns[-1]
    assert (note["name"], note["transformSourceObjects"]) == ("note", ["thing_notes.note"])
    assert "required" not in note  # empty where the join finds no note
    report = validate_mesh(mesh, today=TODAY)
    assert report.ok, [str(p) for p in report.problems + report.check_problems]


def test_an_input_keyed_otherwise_is_declared_but_not_joined(mesh: Path) -> None:
    folder = product(mesh, "alpha.with_summary", "alpha.things.things", "alpha.summary.summary")

    sql = (folder / "transform.sql").read_text()
    assert "Also declared as inputs, to join here: summary." in sql
    assert "JOIN" not in sql
    names = [p["name"] for p in read(folder / "contract.yaml")["schema"][0]["properties"]]
    assert names == ["thing_id", "label", "weight", "kind"]
    assert validate_mesh(mesh, today=TODAY).ok


def test_another_domains_port_writes_an_agreement_request(mesh: Path) -> None:
    new_domain(mesh, "beta", zone="lab", owner="bea@example.com")

    result = new_product(
        mesh, ProductRequest(product="beta.things_seen", ports=["alpha.things.things"]), today=TODAY
    )

    file = mesh / "domains/beta/agreements/beta-things-seen-reads-alpha-things.yaml"
    assert file in result.written
    agreement = read(file)
    assert "approvedBy" not in agreement
    assert agreement["consumer"] == {"kind": "product", "id": "beta.things_seen"}
    assert agreement["ports"] == [
        {"port": "alpha.things.things", "columns": ["thing_id", "label", "weight", "kind"]}
    ]
    assert (agreement["start"], agreement["end"]) == (TODAY, date(2027, 12, 3))
    assert any("owner@example.com" in note and "approve" in note for note in result.notes)
    assert file.read_text().startswith("# REQUEST by beta.things_seen")
    descriptor = read(mesh / "domains/beta/products/things_seen/product.yaml")
    assert {"property": "tier", "value": "silver"} in descriptor["customProperties"]
    assert validate_mesh(mesh, today=TODAY).ok


def test_personal_columns_of_another_domain_are_left_out(sample: Path) -> None:
    new_domain(sample, "field_service", zone="emea", owner="ana@example.com")

    result = new_product(
        sample,
        ProductRequest(product="field_service.staff", ports=["hr.employees.employees"]),
        today=TODAY,
    )

    folder = sample / "domains/field_service/products/staff"
    columns = {p["name"]: p for p in read(folder / "contract.yaml")["schema"][0]["properties"]}
    assert set(columns).isdisjoint({"full_name", "email", "birth_date", "annual_salary"})
    assert columns["employee_id"]["primaryKey"] is True
    assert columns["department"]["description"] == "Department name."
    assert columns["country"]["logicalTypeOptions"] == {"pattern": "^[A-Z]{2}$"}
    assert {p["classification"] for p in columns.values()} == {"internal"}
    agreement = read(
        sample / "domains/field_service/agreements/field-service-staff-reads-hr-employees.yaml"
    )
    assert agreement["ports"][0]["columns"] == list(columns)
    assert any("left out" in note and "employees.email" in note for note in result.notes)
    report = validate_mesh(sample, today=TODAY)
    assert report.ok, [str(p) for p in report.problems + report.agreement_problems]


def test_the_python_skeleton_has_the_transform_signature_the_platform_calls(mesh: Path) -> None:
    notes_product(mesh)
    folder = product(
        mesh,
        "alpha.both_py",
        "alpha.things.things",
        "alpha.thing_notes.thing_notes",
        language="python",
    )

    source = (folder / "transform.py").read_text()
    ast.parse(source)
    spec = importlib.util.spec_from_file_location("scaffolded_transform", folder / "transform.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert list(inspect.signature(module.transform).parameters) == ["inputs", "ctx"]
    assert 'on=["thing_id"]' in source and 'F.col("note")' in source
    assert read(folder / "product.yaml")["customProperties"][1] == {
        "property": "transform",
        "value": "transform.py",
    }
    assert validate_mesh(mesh, today=TODAY).ok


def test_from_contract_imports_an_odcs_contract_keeping_its_comments(
    mesh: Path, tmp_path: Path
) -> None:
    imported = tmp_path / "weights.yaml"
    imported.write_text(
        "# Agreed with the weighing team.\n"
        "apiVersion: v3.0.2\nkind: DataContract\n"
        "id: weighing-team-contract  # their id\nversion: 2.1.0\nstatus: proposed\n"
        "schema:\n  - name: weights\n    properties:\n"
        "      - name: thing_id\n        logicalType: string\n        required: true\n"
        "        description: The thing.\n        classification: internal\n"
        "      - name: weight\n        logicalType: number\n        physicalType: DECIMAL(8,3)\n"
        "        description: Its weight.\n        classification: internal\n"
        "      - name: grams\n        logicalType: integer\n"
        "        description: Weight in grams.\n        classification: internal\n"
    )

    result = new_product(
        mesh,
        ProductRequest(
            product="alpha.weights", ports=["alpha.things.things"], contract_file=imported
        ),
        today=TODAY,
    )

    folder = mesh / "domains/alpha/products/weights"
    text = (folder / "contract.yaml").read_text()
    assert "# Agreed with the weighing team." in text
    assert "id: alpha.weights.weights  # their id" in text
    assert read(folder / "contract.yaml")["version"] == "2.1.0"
    sql = (folder / "transform.sql").read_text()
    assert "    thing_id,\n    weight,\n    CAST(NULL AS BIGINT) AS grams\nFROM things" in sql
    assert any("grams" in note for note in result.notes)
    report = validate_mesh(mesh, today=TODAY)
    assert report.ok, [str(p) for p in report.problems + report.check_problems]


def test_from_contract_refuses_a_contract_meshlake_cannot_use(mesh: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v3.1.0\nkind: DataContract\nversion: one\n")
    before = snapshot(mesh)

    with pytest.raises(ScaffoldError) as raised:
        product(mesh, "alpha.weights", "alpha.things.things", contract_file=broken)

    assert raised.value.option == "--from-contract"
    assert f"{broken} is no contract meshlake can use" in str(raised.value)
    assert f"{broken}:3: version" in str(raised.value)
    assert snapshot(mesh) == before


@pytest.mark.parametrize(
    ("name", "ports", "option", "words"),
    [
        ("alpha", ["alpha.things.things"], "DOMAIN.PRODUCT", "domain.product"),
        ("gamma.x", ["alpha.things.things"], "DOMAIN.PRODUCT", "no domain 'gamma'"),
        ("alpha.things", ["alpha.raw.things"], "DOMAIN.PRODUCT", "exists already"),
        ("alpha.x", ["alpha.things.nothing"], "--from", "known: alpha.raw.things, alpha.summary"),
        ("alpha.x", [], "--from", "at least one port"),
        ("alpha.x", ["alpha.things.things", "alpha.things.things"], "--from", "named twice"),
    ],
)
def test_product_new_refuses_without_writing(
    mesh: Path, name: str, ports: list[str], option: str, words: str
) -> None:
    before = snapshot(mesh)

    with pytest.raises(ScaffoldError) as raised:
        product(mesh, name, *ports)

    assert raised.value.option == option and words in str(raised.value)
    assert snapshot(mesh) == before


def test_another_domains_raw_source_is_refused(mesh: Path) -> None:
    new_domain(mesh, "beta", zone="lab", owner="bea@example.com")

    with pytest.raises(ScaffoldError, match="belongs to domain 'alpha'"):
        product(mesh, "beta.x", "alpha.raw.things")


# -- the command ------------------------------------------------------------------------------


def meshlake(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("meshlake")
    env = {**os.environ, "MESHLAKE_PROJECT": str(project), "COLUMNS": "200"}
    return subprocess.run(
        [str(executable), *args], capture_output=True, text=True, env=env, check=False
    )


def test_the_commands_print_what_they_wrote_and_the_next_step(mesh: Path) -> None:
    domain = meshlake(mesh, "domain", "new", "beta", "--zone", "lab", "--owner", "bea@example.com")
    made = meshlake(
        mesh, "product", "new", "beta.seen", "--from", "alpha.things.things", "--python"
    )
    checked = meshlake(mesh, "validate")

    assert domain.returncode == 0, domain.stderr
    assert domain.stdout.splitlines()[:2] == [
        "wrote domains/beta/domain.yaml",
        "edited infra/landing-zones/lab.yaml",
    ]
    assert made.returncode == 0, made.stderr
    assert "wrote domains/beta/products/beta_seen" not in made.stdout
    assert "wrote domains/beta/products/seen/transform.py" in made.stdout
    assert "wrote domains/beta/agreements/beta-seen-reads-alpha-things.yaml" in made.stdout
    assert "next: meshlake materialize beta.seen --upstream" in made.stdout
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 domains, 3 products" in checked.stdout


def test_a_refusal_exits_2_naming_the_option(mesh: Path) -> None:
    result = meshlake(mesh, "domain", "new", "beta", "--zone", "mars", "--owner", "b@example.com")

    assert result.returncode == 2
    assert "error: --zone: no landing zone 'mars'" in result.stderr
    assert "Traceback" not in result.stderr
