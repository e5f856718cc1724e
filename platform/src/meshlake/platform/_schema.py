"""The Spark schema a contract promises, and how a written table differs from it.

Used before a write (conformance), while committing it (``keep_nullability``) and after it (the
schema check on the staged or published table).
"""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.types import DataType, StructField, StructType

from meshlake.platform.specs import Contract, SchemaProperty, spark_type


def column_type(prop: SchemaProperty) -> DataType:
    """The Spark type of a contract column (needs a running session to parse DDL).

    Parsed from the physical type as written: ``spark_type`` upper-cases it for display, which
    would upper-case a struct's field names too."""
    written = (prop.physical_type or "").strip()
    return DataType.fromDDL(written or spark_type(prop.logical_type, None))


def contract_struct(contract: Contract) -> StructType:
    """The contract's columns as a Spark schema; required columns are not nullable."""
    return StructType(
        [
            StructField(prop.name, column_type(prop), nullable=not prop.required)
            for prop in contract.columns
        ]
    )


def schema_differences(actual: StructType, contract: Contract) -> list[str]:
    """What differs between a table's schema and its contract: names, order, types and nullability
    (a required column is NOT NULL, any other column allows nulls)."""
    expected = contract_struct(contract)
    problems = []
    actual_names = [field.name for field in actual.fields]
    for field in expected.fields:
        if field.name not in actual_names:
            problems.append(f"column {field.name!r} is missing")
        elif actual[field.name].dataType != field.dataType:
            problems.append(
                f"column {field.name!r} is {actual[field.name].dataType.simpleString()}, "
                f"the contract says {field.dataType.simpleString()}"
            )
        elif actual[field.name].nullable and not field.nullable:
            problems.append(
                f"column {field.name!r} allows nulls, the contract requires a value (required: true)"
            )
        elif not actual[field.name].nullable and field.nullable:
            problems.append(
                f"column {field.name!r} is NOT NULL, the contract allows nulls (required: false)"
            )
    expected_names = [field.name for field in expected.fields]
    problems += [
        f"column {name!r} is not in the contract"
        for name in actual_names
        if name not in expected_names
    ]
    if not problems and actual_names != expected_names:
        problems.append(
            f"columns are in the order {', '.join(actual_names)}, not {', '.join(expected_names)}"
        )
    return problems


def keep_nullability(
    spark: SparkSession, transaction: Any, schema: StructType, replaces_table: bool
) -> bool:
    """Make the table schema that a Delta ``transaction`` commits carry ``schema``'s nullability;
    True when it changed anything.

    Delta's DataFrame writer stores every column as nullable (``ImplicitMetadataOperation``
    takes ``schema.asNullable``), so a required column would lose its NOT NULL. Call this after the
    transaction's files are written and before its commit, with the conformed frame's schema. It
    acts only where the commit sets the table's schema anyway (a new table, a schema change) or
    replaces every row (``replaces_table``, an overwrite): an append never declares NOT NULL over
    rows it did not check. Delta itself then refuses nulls in those columns on every later write.
    """
    changed = transaction.newMetadata()
    if changed.isDefined():
        metadata = changed.get()
    elif replaces_table:
        metadata = transaction.metadata()
    else:
        return False
    stored = json.loads(metadata.schemaString())
    wanted = with_nullability(stored, schema.jsonValue())
    if wanted == stored:
        return False
    patched = metadata.copy(
        metadata.id(),
        metadata.name(),
        metadata.description(),
        metadata.format(),
        json.dumps(wanted),
        metadata.partitionColumns(),
        metadata.configuration(),
        metadata.createdTime(),
    )
    jvm = spark._jvm
    assert jvm is not None
    # Scala's setter of the transaction's pending metadata (``updateMetadata`` refuses once files
    # are written); delta-spark 4.4.0, held by tests/platform/test_conform.py.
    getattr(transaction, "newMetadata_$eq")(jvm.scala.Some(patched))
    return True


def with_nullability(stored: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema ``stored`` with the nullability of ``source`` (both Spark JSON schemas),
    matched by field name at every level; types and field metadata stay ``stored``'s."""
    if stored.get("type") == "struct" and source.get("type") == "struct":
        fields = {field["name"].lower(): field for field in source["fields"]}
        result = []
        for field in stored["fields"]:
            match = fields.get(field["name"].lower())
            if match is None:
                result.append(field)
                continue
            result.append(
                {
                    **field,
                    "nullable": match["nullable"],
                    "type": _nested(field["type"], match["type"]),
                }
            )
        return {**stored, "fields": result}
    return stored


def _nested(stored: Any, source: Any) -> Any:
    if not (isinstance(stored, dict) and isinstance(source, dict)):
        return stored
    kind = stored.get("type")
    if kind != source.get("type"):
        return stored
    if kind == "struct":
        return with_nullability(stored, source)
    if kind == "array":
        return {
            **stored,
            "containsNull": source["containsNull"],
            "elementType": _nested(stored["elementType"], source["elementType"]),
        }
    if kind == "map":
        return {
            **stored,
            "valueContainsNull": source["valueContainsNull"],
            "keyType": _nested(stored["keyType"], source["keyType"]),
            "valueType": _nested(stored["valueType"], source["valueType"]),
        }
    return stored
