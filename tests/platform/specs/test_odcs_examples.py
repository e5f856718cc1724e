"""The standard as written: the official ODCS examples, and the uses the standard allows.

Every official example is a contract the ODCS v3.1.0 JSON Schema accepts; meshlake loads it, or
refuses it naming the feature it cannot use, with file, line and field path, and never fails any
other way. Contracts in a mesh may describe several tables, carry any status, use an integer
physical type for a number, and (for a raw source) describe the data in another platform's types.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from meshlake.platform import load_mesh, validate_mesh
from meshlake.platform.specs import SpecError, load_contract
from meshlake.platform.specs._yaml import load_located_yaml
from tests.helpers import MINI_MESH, REPO

pytestmark = pytest.mark.unit

EXAMPLES = REPO / "tests" / "fixtures" / "odcs-examples"
ODCS_SCHEMA = REPO / "tests" / "fixtures" / "specs" / "odcs" / "odcs-json-schema-v3.1.0.json"
THINGS = "domains/alpha/products/things/contract.yaml"

# What meshlake makes of each official example: the tables it loads, or the (line, field) of each
# refused column (each a nested object/array column with no Spark type to write it as).
LOADS: dict[str, list[str]] = {
    "all/full-example.odcs.yaml": ["tbl", "receivers"],
    "fundamentals/table-column-description.odcs.yaml": ["tbl"],
    "quality/column-accuracy.odcs.yaml": ["Air_Quality"],
    "quality/column-completeness.odcs.yaml": ["Air_Quality"],
    "quality/column-custom.odcs.yaml": ["Air_Quality"],
    "quality/column-validity.odcs.yaml": ["Air_Quality"],
    "roles/service-and-operational-roles.odcs.yaml": [],
    "schema/all-schema-types.odcs.yaml": ["tbl", "AnObject", "AnotherObject"],
    "schema/kafka-schema.odcs.yaml": ["Orders"],
    "schema/kafka-schemaregistry.odcs.yaml": ["Orders"],
    "schema/table-column.odcs.yaml": ["tbl"],
    "schema/table-columns-with-partition.odcs.yaml": ["tbl"],
    "server/azure-server.odcs.yaml": [],
    "server/kafka-server.odcs.yaml": ["Orders"],
    "sla/database-table-sla.odcs.yaml": [],
    "stakeholders/basic-four-dpo.odcs.yaml": [],
}
REFUSED: dict[str, list[tuple[int, str]]] = {
    "data-types/all-data-types.odcs.yaml": [
        (68, "schema[0].properties[8]"),
        (75, "schema[0].properties[9]"),
    ],
}
ALL = sorted(str(path.relative_to(EXAMPLES)) for path in EXAMPLES.rglob("*.yaml"))


def test_every_official_example_has_an_expected_outcome() -> None:
    assert len(ALL) >= 18
    assert sorted([*LOADS, *REFUSED, "all/postgresql-adventureworks-contract.odcs.yaml"]) == ALL


@pytest.mark.parametrize("name", ALL)
def test_the_official_schema_accepts_the_example(name: str) -> None:
    schema = json.loads(ODCS_SCHEMA.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    document = json.loads(json.dumps(load_located_yaml(EXAMPLES / name).data, default=str))

    assert [error.message for error in validator.iter_errors(document)] == []


@pytest.mark.parametrize("name", sorted(LOADS))
def test_the_example_loads(name: str) -> None:
    contract = load_contract(EXAMPLES / name)

    assert [table.name for table in contract.schema_] == LOADS[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_the_example_is_refused_naming_the_feature_and_place(name: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_contract(EXAMPLES / name, shown_as=name)

    problems = caught.value.problems
    assert [(p.file, p.line, p.field) for p in problems] == [
        (name, line, field) for line, field in REFUSED[name]
    ]
    assert all("feature not supported: a nested" in p.message for p in problems)


def test_the_adventureworks_example_is_refused_only_for_its_nested_columns() -> None:
    name = "all/postgresql-adventureworks-contract.odcs.yaml"
    with pytest.raises(SpecError) as caught:
        load_contract(EXAMPLES / name, shown_as=name)

    problems = caught.value.problems
    assert len(problems) > 5
    assert all(p.file == name and p.line > 1 and p.field.startswith("schema[") for p in problems)
    assert all("nested object column needs a Spark physicalType" in p.message for p in problems)
    assert "(found physicalType 'Name')" in problems[0].message


# -- the standard's allowances, in a mesh ---------------------------------------------------------


def _mini(tmp_path: Path) -> Path:
    project = tmp_path / "mesh"
    shutil.copytree(MINI_MESH, project)
    return project


def _edit(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text
    file.write_text(text.replace(old, new, 1))


def _table(name: str) -> str:
    return f"  - name: {name}\n    properties:\n      - name: code\n        logicalType: string\n"


def test_a_port_publishes_the_table_named_after_it(tmp_path: Path) -> None:
    project = _mini(tmp_path)
    contract = project / THINGS
    text = contract.read_text()
    contract.write_text(text.replace("schema:\n", "schema:\n" + _table("things_codes"), 1))

    mesh = load_mesh(project)

    port = mesh.product("alpha.things").ports["things"]
    assert [table.name for table in port.contract.schema_] == ["things_codes", "things"]
    assert port.contract.table.name == "things"
    assert port.contract.table_index == 1
    assert [prop.name for prop in port.contract.columns][:2] == ["thing_id", "label"]


def test_several_tables_and_none_named_after_the_port_is_refused(tmp_path: Path) -> None:
    project = _mini(tmp_path)
    contract = project / THINGS
    text = contract.read_text()
    contract.write_text(
        text.replace("schema:\n", "schema:\n" + _table("codes"), 1).replace(
            "  - name: things\n", "  - name: things_table\n", 1
        )
    )
    line = contract.read_text().splitlines().index("schema:") + 1

    report = validate_mesh(project)

    assert [str(p) for p in report.problems] == [
        f"{THINGS}:{line}: schema: the contract describes 2 tables (codes, things_table); output "
        "port 'things' publishes the one named 'things': name one so, or split the contract"
    ]


@pytest.mark.parametrize("status", ["in development", "production", "experimental"])
def test_any_status_string_loads(status: str, tmp_path: Path) -> None:
    project = _mini(tmp_path)
    _edit(project / THINGS, "status: active", f"status: {status}")

    mesh = load_mesh(project)

    assert mesh.product("alpha.things").ports["things"].contract.status == status


def test_an_integer_physical_type_may_carry_logical_type_number(tmp_path: Path) -> None:
    project = _mini(tmp_path)
    _edit(project / THINGS, "physicalType: DECIMAL(8,3)", "physicalType: BIGINT")

    mesh = load_mesh(project)

    columns = {p.name: p for p in mesh.product("alpha.things").ports["things"].contract.columns}
    assert (columns["weight"].logical_type, columns["weight"].physical_type) == ("number", "BIGINT")


RAW_CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: alpha.raw.things
version: 1.0.0
status: production
name: things drop
schema:
  - name: things_raw
    physicalType: table
    properties:
      - name: thing_id
        logicalType: string
        physicalType: VARCHAR(20)
      - name: label
        logicalType: string
        physicalType: text
      - name: weight
        logicalType: number
        physicalType: NUMBER(10,2)
      - name: kind
        logicalType: string
        physicalType: nvarchar(max)
      - name: seen_at
        logicalType: timestamp
        physicalType: TIMESTAMP_NTZ
      - name: batch
        logicalType: integer
        physicalType: bigint
"""


def _raw_source_by_contract(project: Path, contract: str) -> None:
    (project / "domains/alpha/sources/things_raw.odcs.yaml").write_text(contract)
    _edit(
        project / "domains/alpha/domain.yaml",
        "    schema: thing_id STRING, label STRING, weight STRING, kind STRING",
        "    contract: sources/things_raw.odcs.yaml",
    )


def test_a_raw_source_contract_maps_other_platforms_types_through_the_logical_type(
    tmp_path: Path,
) -> None:
    project = _mini(tmp_path)
    _raw_source_by_contract(project, RAW_CONTRACT)

    report = validate_mesh(project)

    assert report.problems == [] and report.check_problems == []
    assert report.mesh is not None
    raw = report.mesh.raw_sources["alpha.raw.things"]
    assert raw.source.schema_ddl == (
        "`thing_id` STRING, `label` STRING, `weight` DECIMAL(10,2), `kind` STRING, "
        "`seen_at` TIMESTAMP_NTZ, `batch` BIGINT"
    )
    assert report.files_checked == 8


def test_a_raw_source_contract_it_cannot_use_is_refused_with_its_place(tmp_path: Path) -> None:
    project = _mini(tmp_path)
    nested = RAW_CONTRACT.replace(
        "        logicalType: integer\n        physicalType: bigint\n",
        "        logicalType: object\n        physicalType: jsonb\n",
    )
    _raw_source_by_contract(project, nested)
    line = nested.splitlines().index("      - name: batch") + 1

    report = validate_mesh(project)

    assert [(p.file, p.line, p.field) for p in report.problems] == [
        ("domains/alpha/sources/things_raw.odcs.yaml", line, "schema[0].properties[5]")
    ]
    assert "nested object column" in report.problems[0].message
    assert "(found physicalType 'jsonb')" in report.problems[0].message


def test_a_port_contract_still_writes_spark_types(tmp_path: Path) -> None:
    # On an output port the physicalType is what is written: another platform's type is refused.
    project = _mini(tmp_path)
    contract = project / THINGS
    lines = contract.read_text().splitlines(keepends=True)
    label = next(i for i, line in enumerate(lines) if "name: label" in line)
    logical = next(i for i in range(label, len(lines)) if "logicalType:" in lines[i])
    indent = lines[logical][: len(lines[logical]) - len(lines[logical].lstrip())]
    lines.insert(logical + 1, f"{indent}physicalType: text\n")
    contract.write_text("".join(lines))

    report = validate_mesh(project)

    assert [(p.file, p.line, p.field) for p in report.problems] == [
        (THINGS, logical + 2, "schema[0].properties[1].physicalType")
    ]
    assert "'text' is not a Spark SQL type" in report.problems[0].message
