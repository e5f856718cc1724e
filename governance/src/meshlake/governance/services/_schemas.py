"""A table's schema against its registered contract, without Spark: names, order, types, nullability.

Types are compared in one canonical spelling, Spark's ``simpleString`` (``bigint``, ``decimal(12,2)``,
``array<string>``, ``struct<a:int,b:string>``), whatever spelled them: a contract's Spark DDL
(``DECIMAL(12,2)``, ``INTEGER``, ``VARCHAR(20)``), the platform's staged schema (simpleString) or
the Delta log (``long``, ``integer``, nested JSON). The platform compares the same way with Spark's
own parser (platform/_schema.py); governance reads what the platform wrote and checks it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from meshlake.platform.specs import Contract, spark_type

# Spark SQL and Delta protocol names of one type, to simpleString. CHAR/VARCHAR are strings in
# Delta (Spark keeps the length in field metadata only).
_ALIASES = {
    "integer": "int",
    "long": "bigint",
    "short": "smallint",
    "byte": "tinyint",
    "real": "float",
    "numeric": "decimal",
    "dec": "decimal",
    "timestamp_ltz": "timestamp",
    "varchar": "string",
    "char": "string",
}
_TOKEN = re.compile(r"\s*(`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|[A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:])")


class TypeSyntaxError(ValueError):
    """A type string that is not a Spark SQL type."""


def canonical_type(text: str) -> str:
    """``text`` (Spark DDL, simpleString or a Delta primitive name) in Spark's simpleString."""
    tokens = _tokens(text)
    parsed, rest = _parse(tokens, 0, text)
    if rest != len(tokens):
        raise TypeSyntaxError(f"{text!r} is not a Spark SQL type (unexpected {tokens[rest]!r})")
    return parsed


def delta_type(value: Any) -> str:
    """A type of a Delta log schema (``schemaString`` JSON: a name or a nested object), canonical."""
    if isinstance(value, str):
        return canonical_type(value)
    kind = value.get("type")
    if kind == "array":
        return f"array<{delta_type(value['elementType'])}>"
    if kind == "map":
        return f"map<{delta_type(value['keyType'])},{delta_type(value['valueType'])}>"
    if kind == "struct":
        fields = ",".join(f"{item['name']}:{delta_type(item['type'])}" for item in value["fields"])
        return f"struct<{fields}>"
    raise TypeSyntaxError(f"{value!r} is not a Delta type")


@dataclass(frozen=True)
class FoundColumn:
    """One column of a schema as written or staged: its name, canonical type and nullability."""

    name: str
    type: str
    nullable: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "nullable": self.nullable}


@dataclass(frozen=True)
class Mismatch:
    """One way a schema differs from its contract: which field, what the contract expects, what
    was found."""

    field: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.field}: expected {self.expected}, found {self.found}"


def delta_columns(schema: dict[str, Any]) -> list[FoundColumn]:
    """The top-level columns of a Delta schema (``DeltaTable.schema().to_json()``, parsed)."""
    return [
        FoundColumn(item["name"], delta_type(item["type"]), bool(item.get("nullable", True)))
        for item in schema["fields"]
    ]


def schema_mismatches(found: list[FoundColumn], contract: Contract) -> list[Mismatch]:
    """How ``found`` differs from ``contract``: missing and extra columns, types, required columns
    that are nullable, then the order (only when the names agree). Empty when it matches.

    A column the contract does not require may be stored NOT NULL: that is stricter, not a breach.
    """
    expected = [
        (
            prop.name,
            canonical_type(spark_type(prop.logical_type, prop.physical_type)),
            prop.required,
        )
        for prop in contract.columns
    ]
    by_name = {column.name: column for column in found}
    names = {name for name, _, _ in expected}
    problems: list[Mismatch] = []
    for name, kind, required in expected:
        column = by_name.get(name)
        if column is None:
            problems.append(Mismatch(f"column {name!r}", f"a {kind} column", "no such column"))
            continue
        try:
            found_type = canonical_type(column.type)
        except TypeSyntaxError:
            found_type = column.type
        if found_type != kind:
            problems.append(Mismatch(f"column {name!r} type", kind, found_type))
        if required and column.nullable:
            problems.append(
                Mismatch(f"column {name!r} nullable", "false (the column is required)", "true")
            )
    problems += [
        Mismatch(f"column {column.name!r}", "no such column (not in the contract)", column.type)
        for column in found
        if column.name not in names
    ]
    order = [name for name, _, _ in expected]
    found_order = [column.name for column in found]
    if not problems and found_order != order:
        problems.append(Mismatch("column order", ", ".join(order), ", ".join(found_order)))
    return problems


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise TypeSyntaxError(f"{text!r} is not a Spark SQL type (at character {position})")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _expect(tokens: list[str], index: int, token: str, text: str) -> int:
    if index >= len(tokens) or tokens[index] != token:
        found = tokens[index] if index < len(tokens) else "the end"
        raise TypeSyntaxError(
            f"{text!r} is not a Spark SQL type ({token!r} expected, {found!r} found)"
        )
    return index + 1


def _numbers(tokens: list[str], index: int, text: str) -> tuple[list[int], int]:
    """``(p[, s])`` after a type name, if there."""
    if index >= len(tokens) or tokens[index] != "(":
        return [], index
    values, index = [], index + 1
    while True:
        if index >= len(tokens) or not tokens[index].isdigit():
            raise TypeSyntaxError(f"{text!r} is not a Spark SQL type (a number expected)")
        values.append(int(tokens[index]))
        index += 1
        if tokens[index : index + 1] == [","]:
            index += 1
            continue
        return values, _expect(tokens, index, ")", text)


def _name(token: str) -> str:
    return token[1:-1].replace("``", "`") if token.startswith("`") else token


def _parse(tokens: list[str], index: int, text: str) -> tuple[str, int]:
    if index >= len(tokens) or not re.match(r"[A-Za-z_]", tokens[index]):
        raise TypeSyntaxError(f"{text!r} is not a Spark SQL type (a type name expected)")
    name = tokens[index].lower()
    name = _ALIASES.get(name, name)
    index += 1
    if name == "array":
        index = _expect(tokens, index, "<", text)
        element, index = _parse(tokens, index, text)
        return f"array<{element}>", _expect(tokens, index, ">", text)
    if name == "map":
        index = _expect(tokens, index, "<", text)
        key, index = _parse(tokens, index, text)
        index = _expect(tokens, index, ",", text)
        value, index = _parse(tokens, index, text)
        return f"map<{key},{value}>", _expect(tokens, index, ">", text)
    if name == "struct":
        index = _expect(tokens, index, "<", text)
        fields = []
        while index < len(tokens) and tokens[index] != ">":
            field = _name(tokens[index])
            index += 1
            if tokens[index : index + 1] == [":"]:
                index += 1
            kind, index = _parse(tokens, index, text)
            # DDL extras of a struct field: NOT NULL, COMMENT '...'.
            while index < len(tokens) and tokens[index].upper() in ("NOT", "NULL", "COMMENT"):
                index += 2 if tokens[index].upper() == "COMMENT" else 1
            fields.append(f"{field}:{kind}")
            if tokens[index : index + 1] == [","]:
                index += 1
        return f"struct<{','.join(fields)}>", _expect(tokens, index, ">", text)
    numbers, index = _numbers(tokens, index, text)
    if name == "decimal":
        precision = numbers[0] if numbers else 10  # Spark's DECIMAL is DECIMAL(10,0)
        scale = numbers[1] if len(numbers) > 1 else 0
        return f"decimal({precision},{scale})", index
    return name, index
