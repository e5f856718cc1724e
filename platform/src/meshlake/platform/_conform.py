"""Conform a transform's result to its contract before anything is written.

Names are checked up front (a missing or extra column fails before Spark runs). Types and required
columns are checked while the data is written: each column is cast to its contract type behind a guard
that raises a meshlake-tagged error naming the column and the value, so a bad row aborts the one Delta
commit instead of costing a second pass over the data.
"""

from __future__ import annotations

import re

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DataType

from meshlake.platform._errors import (
    ConformanceError,
    MaterializationError,
    MeshlakeError,
    spark_error_summary,
)
from meshlake.platform._schema import column_type
from meshlake.platform.specs import PortSpec, SchemaProperty, spark_type

_TAG = "meshlake-conformance"
_RAISED = re.compile(_TAG + r": (.*?)(?:\s+SQLSTATE|$)", re.DOTALL)


def conform(frame: DataFrame, port: PortSpec) -> DataFrame:
    """``frame`` with exactly the contract's columns, in order, cast to the contract's types."""
    product, columns = str(port.ref.product_ref), port.contract.columns
    actual = {name.lower(): name for name in frame.columns}
    expected = {prop.name.lower() for prop in columns}
    problems = [
        f"column {prop.name!r} is missing from the transform's result "
        f"(it returns {', '.join(frame.columns)})"
        for prop in columns
        if prop.name.lower() not in actual
    ]
    problems += [
        f"column {name!r} is not in the contract; drop it or add it to {port.contract_file.name}"
        for name in frame.columns
        if name.lower() not in expected
    ]
    if len(actual) != len(frame.columns):
        problems.append(f"the result has duplicate column names: {', '.join(frame.columns)}")
    if problems:
        raise ConformanceError(product, port.ref.port, problems)
    source_types = {field.name.lower(): field.dataType for field in frame.schema.fields}
    guarded = [
        _guarded(
            F.col(f"`{actual[prop.name.lower()]}`"), prop, source_types[prop.name.lower()], port
        )
        for prop in columns
    ]
    try:
        return frame.select(*guarded)
    except AnalysisException:
        raise ConformanceError(
            product, port.ref.port, _uncastable(frame, columns, actual)
        ) from None


def conformance_message(exc: BaseException) -> str | None:
    """The guard's message if ``exc`` (from a Spark action) was raised by a conformance guard."""
    match = _RAISED.search(str(exc))
    return match.group(1).strip() if match else None


def port_failure(port: PortSpec, exc: BaseException, doing: str) -> MeshlakeError:
    """The error for a Spark action on ``port``'s rows that failed: the conformance guard's own
    message when a guard raised it, else ``doing`` with Spark's summary."""
    product = str(port.ref.product_ref)
    message = conformance_message(exc)
    if message is not None:
        return ConformanceError(product, port.ref.port, [message])
    return MaterializationError(
        product, f"{doing}, previous version kept: {spark_error_summary(exc)}"
    )


def _guarded(column: Column, prop: SchemaProperty, source_type: DataType, port: PortSpec) -> Column:
    target = spark_type(prop.logical_type, prop.physical_type)
    where = f"{_TAG}: {port.ref.product_ref}: output port {port.ref.port!r}, column {prop.name!r}"
    value = column
    if source_type != column_type(prop):
        cast_fails = column.isNotNull() & column.try_cast(target).isNull()
        message = F.concat(
            F.lit(f"{where}: value '"),
            column.cast("string"),
            F.lit(f"' cannot be cast to {target}"),
        )
        value = F.when(cast_fails, F.raise_error(message)).otherwise(column.cast(target))
    if prop.required:
        message = F.lit(f"{where}: is required but a row has no value")
        value = F.when(value.isNull(), F.raise_error(message)).otherwise(value)
    return value.alias(prop.name)


def _uncastable(
    frame: DataFrame, columns: list[SchemaProperty], actual: dict[str, str]
) -> list[str]:
    """Which columns Spark refuses to cast at all (e.g. a DATE to BOOLEAN), found one by one."""
    problems = []
    for prop in columns:
        target = spark_type(prop.logical_type, prop.physical_type)
        try:
            frame.select(F.col(f"`{actual[prop.name.lower()]}`").cast(target))
        except AnalysisException:
            source = frame.schema[actual[prop.name.lower()]].dataType.simpleString()
            problems.append(f"column {prop.name!r} is {source} and cannot be cast to {target}")
    return problems or ["Spark refused the conforming projection"]
