"""The Spark schema a contract promises, and how a written table differs from it.

Used before a write (conformance) and after it (the schema check on the published table).
"""

from __future__ import annotations

from pyspark.sql.types import DataType, StructField, StructType

from meshlake.platform.specs import Contract, SchemaProperty, spark_type


def column_type(prop: SchemaProperty) -> DataType:
    """The Spark type of a contract column (needs a running session to parse DDL)."""
    return DataType.fromDDL(spark_type(prop.logical_type, prop.physical_type))


def contract_struct(contract: Contract) -> StructType:
    """The contract's columns as a Spark schema; required columns are not nullable."""
    return StructType(
        [
            StructField(prop.name, column_type(prop), nullable=not prop.required)
            for prop in contract.columns
        ]
    )


def schema_differences(actual: StructType, contract: Contract) -> list[str]:
    """What differs between a table's schema and its contract: names, order and types.

    Nullability is not compared: Delta keeps columns nullable and ``required`` is enforced when writing.
    """
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
