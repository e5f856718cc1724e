"""Contract column types: ODCS logical types and the Spark SQL physical types that carry them.

The contract is the source of truth for the written table. A property's ``physicalType`` (a Spark SQL
type such as ``DECIMAL(12,2)``) wins; without one, the logical type picks a default. Kept free of
pyspark so that specs validate without a JVM.
"""

from __future__ import annotations

import re

LOGICAL_TYPES = (
    "string",
    "date",
    "timestamp",
    "time",
    "number",
    "integer",
    "object",
    "array",
    "boolean",
)

_DEFAULT_PHYSICAL = {
    "string": "STRING",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "time": "STRING",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
}

# Spark SQL type names accepted in physicalType, by the logical type each may carry.
_PHYSICAL_FAMILIES: dict[str, tuple[str, ...]] = {
    "string": ("STRING", "VARCHAR", "CHAR"),
    "time": ("STRING",),
    "date": ("DATE",),
    "timestamp": ("TIMESTAMP", "TIMESTAMP_NTZ", "TIMESTAMP_LTZ"),
    "integer": ("TINYINT", "SMALLINT", "INT", "INTEGER", "BIGINT", "LONG", "BYTE", "SHORT"),
    "number": ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC", "DEC"),
    "boolean": ("BOOLEAN",),
    "array": ("ARRAY",),
    "object": ("STRUCT", "MAP"),
}

_PHYSICAL = re.compile(r"^\s*([A-Za-z_]+)\s*(\(\s*\d+\s*(,\s*\d+\s*)?\))?\s*(<.*>)?\s*$")


def physical_type_problem(logical_type: str | None, physical_type: str) -> str | None:
    """Why ``physical_type`` cannot carry ``logical_type``, or None when it can."""
    match = _PHYSICAL.match(physical_type)
    known = sorted({name for names in _PHYSICAL_FAMILIES.values() for name in names})
    if match is None or match.group(1).upper() not in known:
        return f"{physical_type!r} is not a Spark SQL type (one of {', '.join(known)})"
    name = match.group(1).upper()
    if logical_type is None:
        return None
    family = _PHYSICAL_FAMILIES.get(logical_type, ())
    # ODCS lets an integer physical type carry logicalType number (a number that is whole).
    if logical_type == "number" and name in _PHYSICAL_FAMILIES["integer"]:
        return None
    if name not in family:
        return (
            f"{physical_type!r} cannot carry logicalType {logical_type!r}; "
            f"use one of {', '.join(family)}"
        )
    return None


def is_spark_type(physical_type: str) -> bool:
    """Whether ``physical_type`` reads as a Spark SQL type meshlake writes."""
    match = _PHYSICAL.match(physical_type)
    known = {name for names in _PHYSICAL_FAMILIES.values() for name in names}
    return match is not None and match.group(1).upper() in known


# ``NUMBER(10,2)``, ``numeric(12, 4)``: another platform's exact decimal, kept exact in Spark.
_PRECISION = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def mapped_spark_type(logical_type: str | None, physical_type: str | None) -> str | None:
    """The Spark type of a column described for another platform, or None when there is none.

    A Spark physical type that fits the logical type is kept. Any other physical type
    (``VARCHAR(20)`` of a database, ``NUMBER(10,2)`` of Snowflake, ``text``) describes the source
    platform, not Spark: the column is mapped through its logicalType instead, keeping a decimal's
    precision and scale. Object and array columns need a Spark physical type (STRUCT<...>,
    ARRAY<...>), since meshlake does not derive one from nested properties.
    """
    # CHAR(n) and VARCHAR(n) are table-only types in Spark: a file read needs STRING.
    if (
        physical_type
        and is_spark_type(physical_type)
        and "CHAR" not in physical_type.upper()
        and physical_type_problem(logical_type, physical_type) is None
    ):
        return physical_type.strip().upper()
    if logical_type == "number" and physical_type:
        precision = _PRECISION.search(physical_type)
        if precision is not None and precision.group(2) is not None:
            return f"DECIMAL({precision.group(1)},{precision.group(2)})"
    return _DEFAULT_PHYSICAL.get(logical_type or "")


def spark_type(logical_type: str | None, physical_type: str | None) -> str:
    """The Spark SQL type a column is written as."""
    if physical_type:
        return physical_type.strip().upper()
    if logical_type in _DEFAULT_PHYSICAL:
        return _DEFAULT_PHYSICAL[logical_type]
    raise ValueError(f"logicalType {logical_type!r} needs an explicit physicalType")


def ddl_columns(ddl: str) -> list[tuple[str, str]]:
    """(name, type) of each column of a Spark DDL schema (``id STRING, amount DECIMAL(12,2)``).

    Commas inside ``DECIMAL(p,s)`` or ``STRUCT<...>`` do not split columns; a trailing ``NOT NULL``
    or ``COMMENT '...'`` is dropped from the type.
    """
    columns, depth, current = [], 0, ""
    for char in ddl + ",":
        if char in "(<":
            depth += 1
        elif char in ")>":
            depth -= 1
        if char == "," and depth == 0:
            text = " ".join(current.split())
            if text:
                column, _, kind = text.partition(" ")
                for marker in (" NOT NULL", " COMMENT "):
                    cut = kind.upper().find(marker)
                    if cut >= 0:
                        kind = kind[:cut]
                columns.append((column.strip("`"), kind.strip().upper()))
            current = ""
        else:
            current += char
    return columns


def ddl_column_names(ddl: str) -> list[str]:
    """Column names of a Spark DDL schema."""
    return [name for name, _ in ddl_columns(ddl)]
