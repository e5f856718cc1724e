"""ODCS contracts as the standard allows them, and what meshlake needs of them to use them.

Any contract that the official ODCS v3.0.x / v3.1.0 JSON Schema accepts validates as a
:class:`Contract`. Using it is another matter, and each use states what it needs:

- an output port publishes one table: the contract's only schema object, or the one named like
  the port; its physicalTypes are the Spark types written (an integer type may carry logicalType
  number);
- a contract that describes data as another platform holds it (a raw source's drop, an imported
  contract) may use that platform's physical types (``VARCHAR(20)``, ``NUMBER(10,2)``, ``text``):
  they are mapped to Spark through the logicalType.

What cannot be used is refused naming the feature, the file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from meshlake.platform.specs._models import Contract, SchemaObject
from meshlake.platform.specs._problems import (
    Problem,
    SpecError,
    field_path,
    problems_from_validation,
)
from meshlake.platform.specs._types import mapped_spark_type, physical_type_problem
from meshlake.platform.specs._yaml import LocatedYaml, YamlSyntaxError, load_located_yaml


def load_contract(path: Path, shown_as: str | None = None) -> Contract:
    """The ODCS contract in ``path``, with every column mappable to a Spark type.

    Raises SpecError listing each problem as ``file:line: field: message`` (``shown_as`` is the
    file name the messages use, default ``path``): the file is no valid contract, or a column
    uses a feature meshlake cannot map (an object or array column without a Spark type)."""
    shown = shown_as or str(path)
    try:
        document = load_located_yaml(path)
    except YamlSyntaxError as exc:
        raise SpecError([Problem(shown, exc.line, "", str(exc))]) from None
    if not isinstance(document.data, dict):
        raise SpecError([Problem(shown, 1, "", "expected a mapping of fields (an ODCS contract)")])
    try:
        contract = Contract.model_validate(document.data)
    except ValidationError as exc:
        raise SpecError(problems_from_validation(exc, document, shown, Contract)) from None
    problems = foreign_column_problems(contract, document, shown)
    if problems:
        raise SpecError(problems)
    return contract


def foreign_column_problems(contract: Contract, document: LocatedYaml, file: str) -> list[Problem]:
    """Columns whose Spark type cannot be found, in a contract of another platform's data."""
    problems = []
    for table_index, table in enumerate(contract.schema_):
        for index, prop in enumerate(table.properties):
            if mapped_spark_type(prop.logical_type, prop.physical_type) is not None:
                continue
            path = ("schema", table_index, "properties", index)
            problems.append(
                _located(document, file, path, _unmappable(prop.logical_type, prop.physical_type))
            )
    return problems


def _unmappable(logical_type: str | None, physical_type: str | None) -> str:
    found = f" (found physicalType {physical_type!r})" if physical_type else ""
    if logical_type in ("object", "array"):
        return (
            f"feature not supported: a nested {logical_type} column needs a Spark physicalType "
            f"(STRUCT<...> or ARRAY<...>){found}; meshlake does not derive one from nested "
            "properties"
        )
    return (
        f"feature not supported: physicalType {physical_type!r} is not a Spark type and the "
        "column has no logicalType to map it through: add a logicalType"
    )


def raw_source_ddl(contract: Contract) -> str:
    """The Spark DDL of a raw source described by ``contract`` (its only table)."""
    return ", ".join(
        f"`{prop.name}` {mapped_spark_type(prop.logical_type, prop.physical_type)}"
        for prop in contract.table.properties
    )


def port_table(
    contract: Contract, port: str, document: LocatedYaml, file: str
) -> tuple[Contract | None, list[Problem]]:
    """The contract bound to the table output port ``port`` publishes, and what stops that.

    The table is the only schema object, or the one named ``port``. Its physicalTypes must be
    Spark types (they are what is written); object and array columns need one."""
    names = [item.name for item in contract.schema_]
    if not names:
        message = "an output port's contract describes its table: add a schema object"
        return None, [_located(document, file, ("schema",), message)]
    if len(names) > 1:
        if port not in names:
            message = (
                f"the contract describes {len(names)} tables ({', '.join(names)}); output port "
                f"{port!r} publishes the one named {port!r}: name one so, or split the contract"
            )
            return None, [_located(document, file, ("schema",), message)]
        bound = contract.bound_to(port)
    else:
        bound = contract
    index = bound.table_index
    problems = _spark_type_problems(bound.table, index, document, file)
    if not bound.table.properties:
        message = f"table {bound.table.name!r} has no properties; an output port writes columns"
        problems.append(_located(document, file, ("schema", index), message))
    return (None if problems else bound), problems


def _spark_type_problems(
    table: SchemaObject, table_index: int, document: LocatedYaml, file: str
) -> list[Problem]:
    problems = []
    for index, prop in enumerate(table.properties):
        path = ("schema", table_index, "properties", index)
        if prop.physical_type is not None:
            problem = physical_type_problem(prop.logical_type, prop.physical_type)
            if problem:
                problems.append(_located(document, file, (*path, "physicalType"), problem))
        elif prop.logical_type in ("object", "array"):
            message = f"logicalType {prop.logical_type!r} needs a physicalType (a Spark SQL type)"
            problems.append(_located(document, file, path, message))
    return problems


def _located(
    document: LocatedYaml, file: str, path: tuple[str | int, ...], message: str
) -> Problem:
    return Problem(file, document.line_of(path), field_path(path), message)
