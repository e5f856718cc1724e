"""Conform a transform's result to its contract before anything is written.

Names are checked up front (a missing or extra column, or struct field, fails before Spark runs).
Types and required columns are checked while the data is written: each column whose type differs
from the contract's is converted behind a guard that raises a meshlake-tagged error naming the column
and the value, so a bad row aborts the one Delta commit instead of costing a second pass over the data.

Conversions are lossless or fail. A conversion that cannot lose anything by its types (``INT`` to
``BIGINT``, ``DECIMAL(8,3)`` to ``DECIMAL(10,3)``, ``DATE`` to ``TIMESTAMP``, anything to ``STRING``)
gets no guard at all. Any other converts each value and converts it back: a value that does not come
back equal was changed (``1.7`` to ``INT`` is ``1``, ``1.2345`` to ``DECIMAL(8,3)`` is ``1.235``, a
time of day cut by ``DATE``), and one that does not convert at all does not fit (``300`` as
``TINYINT``) or does not parse (``'heavy'`` or ``'1.5'`` as an integer). Text has no way back, so
it checks its own way: as a decimal, against the same text read with every digit it has (up to 38
digits); as a date, against the same text read as a timestamp. Floating-point targets are
approximate by declaration: only a value they cannot hold at all (an overflow to infinity,
unparseable text) fails there.

The guards stay cheap (``benchmarks/materialize_overhead.py``): one conversion per value, a compare,
and the costly second reading of text only for the text that can have lost something.

Structs conform by field name, recursively (also inside arrays and maps), never by position.
Required columns come out NOT NULL in the frame's schema, the other columns nullable, so that the
schema written (see ``_schema.keep_nullability``) is the contract's.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    ByteType,
    CharType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    NullType,
    ShortType,
    StringType,
    StructType,
    TimestampNTZType,
    TimestampType,
    VarcharType,
)

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

# Decimal digits an integral type needs (Spark's DecimalType.forType).
_DIGITS: dict[type[DataType], int] = {ByteType: 3, ShortType: 5, IntegerType: 10, LongType: 20}
_TEXT = (StringType, VarcharType, CharType)
# What a floating-point target holds as well as its type allows (only double -> float can overflow).
_NUMBERS = (
    ByteType,
    ShortType,
    IntegerType,
    LongType,
    DecimalType,
    FloatType,
    DoubleType,
    BooleanType,
)
_HINT = "convert it in the transform (round, floor, to_date, ...) if that is intended"


def conform(frame: DataFrame, port: PortSpec) -> DataFrame:
    """``frame`` with exactly the contract's columns, in order, converted to the contract's types."""
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
    targets = {prop.name: column_type(prop) for prop in columns}
    for prop in columns:
        problems += _field_problems(
            source_types[prop.name.lower()], targets[prop.name], prop.name, port
        )
    if problems:
        raise ConformanceError(product, port.ref.port, problems)
    where = f"{_TAG}: {port.ref.product_ref}: output port {port.ref.port!r}"
    nullable = {field.name.lower(): field.nullable for field in frame.schema.fields}
    guarded = [
        _guarded(
            F.col(f"`{actual[prop.name.lower()]}`"),
            prop,
            source_types[prop.name.lower()],
            targets[prop.name],
            nullable[prop.name.lower()],
            where,
        )
        for prop in columns
    ]
    try:
        return frame.select(*guarded)
    except AnalysisException:
        raise ConformanceError(
            product, port.ref.port, _uncastable(frame, columns, actual, targets, where)
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


# -- one column ------------------------------------------------------------------------------


def _guarded(
    column: Column,
    prop: SchemaProperty,
    source: DataType,
    target: DataType,
    source_nullable: bool,
    where: str,
) -> Column:
    label = spark_type(prop.logical_type, prop.physical_type)
    value = _converted(column, source, target, prop.name, where, label)
    if prop.required:
        if source_nullable or source != target:
            message = f"{where}, column {prop.name!r}: is required but a row has no value"
            value = _not_null(value, target, message)
    elif not source_nullable:
        # A column the contract lets be null stays nullable in the table, even when this
        # transform never produces a null (a literal, a count): the next one may.
        value = F.when(value.isNotNull(), value)
    return value.alias(prop.name)


def _converted(
    value: Column, source: DataType, target: DataType, path: str, where: str, label: str = ""
) -> Column:
    """``value`` as ``target``, raising (inside the job) where a value would change or not fit."""
    if source == target:
        return value
    if isinstance(source, StructType) and isinstance(target, StructType):
        return _struct(value, source, target, path, where)
    if isinstance(source, ArrayType) and isinstance(target, ArrayType):
        element = _lambda(source.elementType, target.elementType, f"{path}[]", where)
        return F.transform(value, element).cast(target)
    if isinstance(source, MapType) and isinstance(target, MapType):
        keys = _lambda(source.keyType, target.keyType, f"{path}.key", where)
        values = _lambda(source.valueType, target.valueType, f"{path}.value", where)
        converted = F.transform_keys(value, lambda key, _: keys(key))
        return F.transform_values(converted, lambda _, item: values(item)).cast(target)
    return _atomic(value, source, target, f"{where}, column {path!r}", label or _label(target))


def _lambda(
    source: DataType, target: DataType, path: str, where: str
) -> Callable[[Column], Column]:
    return lambda item: _converted(item, source, target, path, where)


def _struct(value: Column, source: StructType, target: StructType, path: str, where: str) -> Column:
    """The struct rebuilt field by field, by name; a null struct stays null."""
    fields = {field.name.lower(): field for field in source.fields}
    parts = []
    for field in target.fields:
        found = fields[field.name.lower()]
        inner = _converted(
            value.getField(found.name),
            found.dataType,
            field.dataType,
            f"{path}.{field.name}",
            where,
        )
        if not field.nullable and (found.nullable or found.dataType != field.dataType):
            message = (
                f"{where}, column {path + '.' + field.name!r}: is required but a row has no value"
            )
            inner = _not_null(inner, field.dataType, message)
        parts.append(inner.alias(field.name))
    # The cast only sets the nested nullability to the contract's: fields are already in order.
    return F.when(value.isNull(), F.lit(None)).otherwise(F.struct(*parts)).cast(target)


def _atomic(value: Column, source: DataType, target: DataType, where: str, label: str) -> Column:
    if _widens(source, target):
        return value.cast(target)
    converted, lost = _lossless(value, source, target)
    shown = value.cast("string")
    expression = F.when(
        value.isNotNull() & converted.isNull(),
        F.raise_error(
            F.concat(F.lit(f"{where}: value '"), shown, F.lit(f"' cannot be cast to {label}"))
        ),
    )
    if lost is not None:
        message = F.concat(
            F.lit(f"{where}: value '"),
            shown,
            F.lit(f"' would lose information as {label} (it would become '"),
            converted.cast("string"),
            F.lit(f"'); {_HINT}"),
        )
        expression = expression.when(lost, F.raise_error(message))
    return expression.otherwise(converted)


def _lossless(value: Column, source: DataType, target: DataType) -> tuple[Column, Column | None]:
    """The converted value (null where it does not convert) and when a converted value differs
    from the original (None when it cannot)."""
    if isinstance(source, _TEXT):
        converted = value.try_cast(target)
        if isinstance(target, DecimalType):
            # Only text with more characters after its point than the scale can have been
            # rounded ('1.2345', but also '1.5000'); only that text is read again with every
            # digit it has (up to 38), which costs a wide decimal, and compared. (Reading every
            # value that way doubled the guard's cost.)
            point = F.instr(value, ".")
            suspect = (point > 0) & (F.length(value) - point > target.scale)
            exact = value.try_cast(DecimalType(38, 38 - (target.precision - target.scale)))
            return converted, converted.isNotNull() & suspect & (converted != exact)
        if isinstance(target, DateType):
            # Spark reads '2024-01-01 10:00' (or '2024-01-01 anything') as a date; only text
            # longer than 'yyyy-mm-dd' can carry more, and only it is read again as a timestamp.
            suspect = F.length(F.trim(value)) > 10
            as_time = value.try_cast(TimestampType())
            lost = ~as_time.eqNullSafe(converted.cast(TimestampType()))
            return converted, converted.isNotNull() & suspect & lost
        return converted, None
    converted = value.try_cast(target)
    if isinstance(target, FloatType | DoubleType):
        infinite = [F.lit(float("inf")), F.lit(float("-inf"))]
        return converted, converted.isin(*infinite) & ~value.isin(*infinite)
    back = converted.try_cast(source)
    return converted, converted.isNotNull() & ~back.eqNullSafe(value)


def _widens(source: DataType, target: DataType) -> bool:
    """Whether every ``source`` value converts to ``target`` without change, by the types alone."""
    if isinstance(source, NullType):
        return True
    if isinstance(target, _TEXT):
        return not isinstance(source, BinaryType)  # bytes that are not UTF-8 would change
    if isinstance(target, DoubleType):
        return isinstance(source, _NUMBERS)
    if isinstance(target, FloatType):
        return isinstance(source, _NUMBERS) and not isinstance(source, DoubleType)
    digits = _DIGITS.get(type(source))
    if digits is not None and type(target) in _DIGITS:
        return digits <= _DIGITS[type(target)]
    if isinstance(target, DecimalType):
        if digits is not None:
            return digits <= target.precision - target.scale
        if isinstance(source, DecimalType):
            return (
                target.scale >= source.scale
                and target.precision - target.scale >= source.precision - source.scale
            )
    if isinstance(source, DateType):
        return isinstance(target, TimestampType | TimestampNTZType)
    return False


def _not_null(value: Column, target: DataType, message: str) -> Column:
    """``value``, raising where it is null, typed NOT NULL when Spark can be shown it is.

    A guard raising on null does not tell Spark the result is never null: ``coalesce`` does when
    its last argument cannot be null. That argument is never reached (the error comes first)."""
    error = F.raise_error(F.lit(message))
    filler = _filler(target)
    if filler is None:
        return F.when(value.isNull(), error).otherwise(value)
    return F.coalesce(value, error, filler)


def _filler(target: DataType) -> Column | None:
    """A non-null constant of exactly ``target`` (its nested nullability aside), or None."""
    if type(target) in _DIGITS or isinstance(target, FloatType | DoubleType):
        return F.lit(0).cast(target)
    if isinstance(target, DecimalType):
        # Zero with the target's scale: widening it to the target is safe, so it stays NOT NULL.
        zero = "0" if target.scale == 0 else "0." + "0" * target.scale
        return F.expr(f"{zero}BD")
    simple = {
        StringType: "''",
        VarcharType: "''",
        CharType: "''",
        BooleanType: "false",
        BinaryType: "X''",
        DateType: "DATE'1970-01-01'",
        TimestampType: "TIMESTAMP'1970-01-01 00:00:00'",
        TimestampNTZType: "TIMESTAMP_NTZ'1970-01-01 00:00:00'",
    }
    if type(target) in simple:
        return F.expr(simple[type(target)])
    if isinstance(target, ArrayType):
        return F.array()
    if isinstance(target, MapType):
        return F.create_map()
    if isinstance(target, StructType):
        parts = [_filler(field.dataType) for field in target.fields]
        if any(part is None for part in parts):
            return None
        return F.struct(
            *[
                part.alias(field.name)
                for part, field in zip(parts, target.fields, strict=True)
                if part is not None
            ]
        )
    return None


def _label(target: DataType) -> str:
    return target.simpleString().upper()


# -- problems found before Spark runs ------------------------------------------------------


def _field_problems(source: DataType, target: DataType, path: str, port: PortSpec) -> list[str]:
    """Struct fields missing from the result or not in the contract, anywhere in the column."""
    if isinstance(source, ArrayType) and isinstance(target, ArrayType):
        return _field_problems(source.elementType, target.elementType, f"{path}[]", port)
    if isinstance(source, MapType) and isinstance(target, MapType):
        return _field_problems(
            source.keyType, target.keyType, f"{path}.key", port
        ) + _field_problems(source.valueType, target.valueType, f"{path}.value", port)
    if not (isinstance(source, StructType) and isinstance(target, StructType)):
        return []
    have = {field.name.lower(): field for field in source.fields}
    want = {field.name.lower() for field in target.fields}
    problems = [
        f"field '{path}.{field.name}' is missing from the transform's result "
        f"(it has {', '.join(source.fieldNames())})"
        for field in target.fields
        if field.name.lower() not in have
    ]
    problems += [
        f"field '{path}.{field.name}' is not in the contract; drop it or add it to "
        f"{port.contract_file.name}"
        for field in source.fields
        if field.name.lower() not in want
    ]
    for field in target.fields:
        if field.name.lower() in have:
            problems += _field_problems(
                have[field.name.lower()].dataType, field.dataType, f"{path}.{field.name}", port
            )
    return problems


def _uncastable(
    frame: DataFrame,
    columns: list[SchemaProperty],
    actual: dict[str, str],
    targets: dict[str, DataType],
    where: str,
) -> list[str]:
    """Which columns Spark refuses to convert at all (e.g. a DATE to BOOLEAN), found one by one."""
    problems = []
    for prop in columns:
        name = actual[prop.name.lower()]
        source = frame.schema[name].dataType
        try:
            frame.select(
                _converted(F.col(f"`{name}`"), source, targets[prop.name], prop.name, where)
            )
        except AnalysisException:
            target = spark_type(prop.logical_type, prop.physical_type)
            problems.append(
                f"column {prop.name!r} is {source.simpleString()} and cannot be cast to {target}"
            )
    return problems or ["Spark refused the conforming projection"]
