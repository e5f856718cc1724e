"""Spark SQL types, as contracts and raw sources write them, in DuckDB and Arrow terms.

The DuckDB engine writes the same Delta tables as the Spark one, so a column's type is decided by
the contract's Spark type: DuckDB computes in its own type, Arrow carries the value, and Delta
records the Spark name. Only the flat types the sample mesh and most contracts use are mapped; a
contract with another type (a struct, an array, a map, an interval) is left to Spark, with the
reason, rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

_DECIMAL = re.compile(r"^(?:DECIMAL|DEC|NUMERIC)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")
_SIZED_TEXT = re.compile(r"^(?:VARCHAR|CHAR)\s*\(\s*\d+\s*\)$")


class UnsupportedType(ValueError):
    """A Spark type the DuckDB engine does not map (the product runs on Spark instead)."""


@dataclass(frozen=True)
class FlatType:
    """One flat Spark type: its DuckDB spelling, its Arrow type and Spark's ``simpleString``."""

    duckdb: str
    arrow: pa.DataType
    simple: str

    @property
    def is_text(self) -> bool:
        return self.simple == "string"

    @property
    def is_decimal(self) -> bool:
        return self.simple.startswith("decimal")

    @property
    def is_floating(self) -> bool:
        return self.simple in ("float", "double")

    def simpleString(self) -> str:
        return self.simple


# Integral types by the decimal digits they need (Spark's DecimalType.forType).
DIGITS = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 20}

_FLAT: dict[str, FlatType] = {
    "STRING": FlatType("VARCHAR", pa.string(), "string"),
    "BOOLEAN": FlatType("BOOLEAN", pa.bool_(), "boolean"),
    "TINYINT": FlatType("TINYINT", pa.int8(), "tinyint"),
    "SMALLINT": FlatType("SMALLINT", pa.int16(), "smallint"),
    "INT": FlatType("INTEGER", pa.int32(), "int"),
    "BIGINT": FlatType("BIGINT", pa.int64(), "bigint"),
    "FLOAT": FlatType("FLOAT", pa.float32(), "float"),
    "DOUBLE": FlatType("DOUBLE", pa.float64(), "double"),
    "DATE": FlatType("DATE", pa.date32(), "date"),
    # Spark's TIMESTAMP is an instant (Delta's "timestamp") and its sessions run in UTC. DuckDB
    # computes it as a plain TIMESTAMP read as UTC (time zones need its ICU extension, which is
    # not installed here); the Arrow column written carries the UTC zone.
    "TIMESTAMP": FlatType("TIMESTAMP", pa.timestamp("us", tz="UTC"), "timestamp"),
    "BINARY": FlatType("BLOB", pa.binary(), "binary"),
}
_ALIASES = {
    "BYTE": "TINYINT",
    "SHORT": "SMALLINT",
    "INTEGER": "INT",
    "LONG": "BIGINT",
    "REAL": "FLOAT",
    "BOOL": "BOOLEAN",
    "TIMESTAMP_LTZ": "TIMESTAMP",
}


def flat_type(spark_type: str) -> FlatType:
    """The flat type a Spark type name stands for; UnsupportedType for anything else."""
    text = " ".join(spark_type.strip().upper().split())
    text = _ALIASES.get(text, text)
    if text in _FLAT:
        return _FLAT[text]
    if _SIZED_TEXT.match(text):
        return _FLAT["STRING"]  # Delta stores VARCHAR(n) and CHAR(n) as string
    decimal = _DECIMAL.match(text)
    if decimal:
        precision = int(decimal.group(1) or 10)
        scale = int(decimal.group(2) or 0)
        return FlatType(
            f"DECIMAL({precision},{scale})",
            pa.decimal128(precision, scale),
            f"decimal({precision},{scale})",
        )
    raise UnsupportedType(f"type {spark_type.strip()} is not supported by the DuckDB engine")


def from_arrow(arrow: pa.DataType) -> FlatType:
    """The flat type of an Arrow column (what DuckDB returned); UnsupportedType for nested ones."""
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return _FLAT["STRING"]
    if pa.types.is_string_view(arrow):
        return _FLAT["STRING"]
    if pa.types.is_decimal(arrow):
        return flat_type(f"DECIMAL({arrow.precision},{arrow.scale})")
    if pa.types.is_timestamp(arrow):
        return _FLAT["TIMESTAMP"]  # naive or in UTC: an instant in UTC (see _FLAT)
    if pa.types.is_null(arrow):
        return FlatType('"NULL"', arrow, "void")
    for flat in _FLAT.values():
        if flat.arrow == arrow:
            return flat
    if pa.types.is_date64(arrow):
        return _FLAT["DATE"]
    if pa.types.is_large_binary(arrow) or pa.types.is_binary_view(arrow):
        return _FLAT["BINARY"]
    raise UnsupportedType(f"the DuckDB engine does not handle columns of type {arrow}")
