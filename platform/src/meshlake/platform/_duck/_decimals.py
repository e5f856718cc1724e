"""Decimal division and average, exact on DuckDB as on Spark.

Spark 4.1 divides decimals exactly: the quotient truncated at scale 39, then rounded half up
(away from zero) to the scale of its result type (``_spark_types``), which is one half-up
rounding of the exact quotient; ANSI mode fails on a zero divisor and on a result too large for
its type. DuckDB divides decimals in DOUBLE. So each decimal ``a / b`` (and ``avg``, which Spark
computes as ``sum / count`` by the same rules) becomes DuckDB SQL over the operands' unscaled
integers in HUGEINT (128 bits): quotient, remainder, the same rounding, then a cast to Spark's
``DECIMAL(p, s)``, which fails on overflow as Spark does. A zero divisor calls ``error()``, in a
DOUBLE division too (DuckDB would give null there).

The Spark types of the operands come from the inputs' schemas, through the query's scopes (CTEs and
subqueries), by Spark's rules. A division is refused (``Refused``) when a type cannot be told, or
when the scaled dividend could exceed 128 bits where Spark would still succeed: no near-match.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from meshlake.platform._duck import _spark_types as types
from meshlake.platform._duck._spark_types import SparkType

_MARK = "meshlake_decimal"
_HUGEINT_DIGITS = 38  # every integer below 10**38 fits in HUGEINT (max about 1.7 * 10**38)
_CAST_HINT = "; CAST it to the type it has (e.g. DECIMAL(12, 2)) to run it on DuckDB"


class Refused(Exception):
    """A decimal division or average DuckDB cannot compute as Spark does; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def duckdb_sql(tree: exp.Expr, schema: Mapping[str, Mapping[str, str]] | None) -> str:
    """``tree`` (Spark SQL) as DuckDB SQL, with every decimal division and average computed as
    Spark does; Refused if one cannot be. Without ``schema`` no type is known, so any division
    or average is refused."""
    nodes = list(tree.find_all(exp.Div, exp.Avg))
    if schema is None:
        if nodes:
            raise Refused(
                f"{_shown(nodes[0])}: without the inputs' types, a decimal cannot be told"
            )
        return tree.sql(dialect="duckdb")
    for number, node in enumerate(nodes):
        node.meta[_MARK] = number
    typed = _Types(_qualified(tree, schema), schema)  # also: every column must resolve
    found = {node.meta[_MARK]: node for node in typed.tree.find_all(exp.Div, exp.Avg)}
    plans: dict[int, tuple[SparkType, ...]] = {}
    shown: dict[int, str] = {}
    for node in nodes:
        mark = node.meta[_MARK]
        twin = found.get(mark)
        if twin is None:
            raise Refused(f"{_shown(node)}: sqlglot lost track of this expression")
        shown[mark] = _shown(node)
        plans[mark] = _plan(twin, typed, shown[mark])
    # Innermost first, so an outer division's operand already holds the exact inner one. Each
    # rewritten node becomes a placeholder column, replaced by its DuckDB text at the end.
    texts: dict[str, str] = {}
    for node in sorted(nodes, key=_depth, reverse=True):
        mark = node.meta.pop(_MARK)
        plan = plans[mark]
        if not plan:
            if not isinstance(node, exp.Div) or _nonzero_literal(node.expression):
                continue
            text = _checked_double_division(node, shown[mark])
        elif isinstance(node, exp.Div):
            text = _division(node, plan, shown[mark])
        else:
            assert isinstance(node, exp.Avg)
            text = _average(node, plan, shown[mark])
        placeholder = f"__meshlake_decimal_{mark}__"
        texts[placeholder] = text
        node.replace(exp.column(placeholder))
    sql = tree.sql(dialect="duckdb")
    for placeholder, text in reversed(texts.items()):  # outer first: it holds the inner ones
        sql = sql.replace(placeholder, text)
    return sql


def _qualified(tree: exp.Expr, schema: Mapping[str, Mapping[str, str]]) -> exp.Expr:
    plain: dict[str, object] = {table: dict(columns) for table, columns in schema.items()}
    try:
        qualified = qualify(tree.copy(), schema=plain, dialect="spark")
        return annotate_types(qualified, schema=plain, dialect="spark")
    except SqlglotError as exc:
        raise Refused(f"sqlglot cannot resolve the transform's columns: {exc}") from None


def _plan(node: exp.Expr, typed: _Types, shown: str) -> tuple[SparkType, ...]:
    """() to leave the node as it is (no decimal), else the Spark types it is computed with:
    (dividend, divisor, result) for a division, (argument, sum, result) for an average."""
    if isinstance(node, exp.Avg):
        distinct = isinstance(node.this, exp.Distinct)
        argument = typed.of(node.this.expressions[0] if distinct else node.this)
        if argument is None:
            raise Refused(f"{shown}: the Spark type of its argument cannot be told{_CAST_HINT}")
        if not argument.is_decimal:
            return ()
        if distinct or isinstance(node.parent, exp.Window | exp.Filter):
            raise Refused(
                f"{shown}: a decimal average with DISTINCT, FILTER or OVER is not carried over"
            )
        total = types.sum_type(argument)
        result = types.average_type(argument)
        assert total is not None and result is not None
        _check_fits(shown, total, types.decimal(20, 0), result)
        return (argument, total, result)
    assert isinstance(node, exp.Div)
    left, right = typed.of(node.this), typed.of(node.expression)
    if left is None or right is None:
        raise Refused(f"{shown}: the Spark type of an operand cannot be told{_CAST_HINT}")
    if types.NULL in (left, right):
        return ()  # null, on either engine
    if not (left.is_numeric and right.is_numeric):
        raise Refused(f"{shown}: an operand is {left if not left.is_numeric else right}, no number")
    if not (left.is_decimal or right.is_decimal) or left.is_fractional or right.is_fractional:
        return ()  # Spark divides in DOUBLE, as DuckDB does
    left = typed.beside_decimal(node.this, left)
    right = typed.beside_decimal(node.expression, right)
    result = types.divide(left, right)
    _check_fits(shown, left, right, result)
    return (left, right, result)


def _check_fits(shown: str, left: SparkType, right: SparkType, result: SparkType) -> None:
    shift = result.scale + right.scale - left.scale
    if shift < 0 or left.precision + shift > _HUGEINT_DIGITS:
        raise Refused(
            f"{shown}: {left} / {right} could exceed 128 bits when scaled to {result} on "
            "DuckDB while Spark computes it; cast the operands to fewer digits if they allow it"
        )


class _Types:
    """Spark types of the expressions of one qualified query, by Spark's rules."""

    def __init__(self, tree: exp.Expr, schema: Mapping[str, Mapping[str, str]]) -> None:
        self.tree = tree
        self.schema = {
            table.lower(): {column.lower(): kind for column, kind in columns.items()}
            for table, columns in schema.items()
        }
        self.scopes: dict[int, Scope] = {
            id(scope.expression): scope for scope in traverse_scope(tree)
        }

    def beside_decimal(self, node: exp.Expr, kind: SparkType) -> SparkType:
        """The decimal an operand becomes in arithmetic with a decimal."""
        literal = _integer_literal(node)
        if literal is not None and kind.is_integral:
            return types.integral_literal_decimal(literal)
        converted = kind.as_decimal()
        assert converted is not None
        return converted

    def of(self, node: exp.Expr | None) -> SparkType | None:
        """The Spark type of ``node``; None when it cannot be told."""
        if node is None:
            return None
        if isinstance(node, exp.Paren | exp.Alias):
            return self.of(node.this)
        if isinstance(node, exp.Null):
            return types.NULL
        if isinstance(node, exp.Boolean):
            return types.BOOLEAN
        if isinstance(node, exp.Literal):
            return types.literal_type(node.name) if node.is_number else SparkType("string")
        if isinstance(node, exp.Neg):
            return self.of(node.this)
        if isinstance(node, exp.Column):
            return self._column(node)
        if isinstance(node, exp.Cast):  # TryCast too
            return types.parse_type(node.to.sql("spark"))
        if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div):
            return self._arithmetic(node)
        if isinstance(node, exp.Count | exp.CountIf):
            return types.BIGINT
        if isinstance(node, exp.Sum | exp.Avg):
            argument = self.of(node.this)
            if argument is None:
                return None
            return (types.sum_type if isinstance(node, exp.Sum) else types.average_type)(argument)
        if isinstance(node, exp.Min | exp.Max | exp.Abs | exp.Window):
            return self.of(node.this)
        if isinstance(node, exp.Case | exp.If | exp.Coalesce | exp.Greatest | exp.Least):
            return self._wider(_branches(node))
        if isinstance(node, exp.Nullif):
            return self.of(node.this)
        if isinstance(node, exp.Round):
            return self._round(node)
        if isinstance(node, exp.Floor | exp.Ceil) and node.args.get("decimals") is None:
            argument = self.of(node.this)
            return None if argument is None else types.floor_type(argument)
        if isinstance(node, exp.Mod):
            return self._remainder(node)
        if isinstance(node, exp.DateDiff | exp.Year | exp.Month | exp.Day | exp.Length):
            return types.INT
        if isinstance(node, exp.StrPosition | exp.RowNumber):
            return types.INT
        if isinstance(node, exp.Predicate | exp.Not | exp.Connector):
            return types.BOOLEAN
        return self._not_numeric(node)

    def _column(self, node: exp.Column) -> SparkType | None:
        scope = self._scope(node)
        source = scope.sources.get(node.table) if scope is not None else None
        if isinstance(source, exp.Table):
            kind = self.schema.get(source.name.lower(), {}).get(node.name.lower())
            return None if kind is None else types.parse_type(kind)
        if isinstance(source, Scope) and isinstance(source.expression, exp.Select):
            for projection in source.expression.selects:
                if projection.alias_or_name.lower() == node.name.lower():
                    return self.of(projection)
        return None

    def _scope(self, node: exp.Expr) -> Scope | None:
        parent: exp.Expr | None = node
        while parent is not None:
            scope = self.scopes.get(id(parent))
            if scope is not None:
                return scope
            parent = parent.parent
        return None

    def _arithmetic(self, node: exp.Binary) -> SparkType | None:
        left, right = self.of(node.this), self.of(node.expression)
        if left is None or right is None or not (left.is_numeric and right.is_numeric):
            return None
        if isinstance(node, exp.Div) and not (left.is_decimal or right.is_decimal):
            return types.DOUBLE
        if left.is_fractional or right.is_fractional:
            return types.DOUBLE
        if left.is_integral and right.is_integral:
            return types.wider(left, right)
        left = self.beside_decimal(node.this, left)
        right = self.beside_decimal(node.expression, right)
        if isinstance(node, exp.Div):
            return types.divide(left, right)
        if isinstance(node, exp.Mul):
            return types.multiply(left, right)
        return types.add(left, right)

    def _remainder(self, node: exp.Mod) -> SparkType | None:
        """``%`` of integers or doubles; a decimal remainder is not typed here."""
        left, right = self.of(node.this), self.of(node.expression)
        if left is None or right is None or left.is_decimal or right.is_decimal:
            return None
        if left.is_integral and right.is_integral:
            return types.wider(left, right)
        return types.DOUBLE if left.is_numeric and right.is_numeric else None

    def _wider(self, branches: list[exp.Expr]) -> SparkType | None:
        result: SparkType | None = types.NULL
        for branch in branches:
            kind = self.of(branch)
            if kind is None or result is None:
                return None
            result = types.wider(result, kind)
        return result

    def _round(self, node: exp.Round) -> SparkType | None:
        argument = self.of(node.this)
        digits = node.args.get("decimals")
        if argument is None:
            return None
        if digits is None:
            return types.round_type(argument, 0)
        if isinstance(digits, exp.Literal) and digits.is_int:
            return types.round_type(argument, int(digits.name))
        if isinstance(digits, exp.Neg) and isinstance(digits.this, exp.Literal):
            return types.round_type(argument, -int(digits.this.name))
        return None

    def _not_numeric(self, node: exp.Expr) -> SparkType | None:
        """A function these rules do not type: trusted only as clearly not a number (a date,
        text), never guessed as a number."""
        kind = node.type
        if kind is None or kind.is_type(exp.DataType.Type.UNKNOWN):
            return None
        if kind.is_type(*exp.DataType.NUMERIC_TYPES):
            return None
        return SparkType(kind.sql("spark").lower())


def _branches(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Case):
        branches = [case.args["true"] for case in node.args.get("ifs") or []]
        default = node.args.get("default")
        return [*branches, default if default is not None else exp.Null()]
    if isinstance(node, exp.If):
        false = node.args.get("false")
        return [node.args["true"], false if false is not None else exp.Null()]
    return [node.this, *node.expressions]


def _integer_literal(node: exp.Expr) -> str | None:
    """The text of an integer literal (``2``, ``-2``), which Spark types by its digits."""
    sign = ""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg):
        sign, node = "-", node.this
    if isinstance(node, exp.Literal) and node.is_int:
        return sign + node.name
    return None


def _depth(node: exp.Expr) -> int:
    depth, parent = 0, node.parent
    while parent is not None:
        depth, parent = depth + 1, parent.parent
    return depth


def _shown(node: exp.Expr) -> str:
    text = node.sql("spark")
    return text if len(text) <= 60 else text[:57] + "..."


# DuckDB SQL ---------------------------------------------------------------------------------


def _nonzero_literal(node: exp.Expr) -> bool:
    while isinstance(node, exp.Paren | exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal) and node.is_number and float(node.name) != 0


def _zero_divisor(shown: str) -> str:
    message = f"[DIVIDE_BY_ZERO] Division by zero in {shown} (Spark in ANSI mode fails here too)"
    return "'" + message.replace("'", "''") + "'"


def _checked_double_division(node: exp.Div, shown: str) -> str:
    """A DOUBLE division (DuckDB gives null for a zero divisor, ANSI Spark fails)."""
    a, b = _duck(node.this), _duck(node.expression)
    return (
        f"(CASE WHEN {b} = 0 AND {a} IS NOT NULL THEN error({_zero_divisor(shown)}) "
        f"ELSE {node.sql(dialect='duckdb')} END)"
    )


def _division(node: exp.Div, plan: tuple[SparkType, ...], shown: str) -> str:
    left, right, result = plan
    dividend = _unscaled(node.this, _duck(node.this), left)
    divisor = _unscaled(node.expression, _duck(node.expression), right)
    return _exact_quotient(dividend, left, divisor, right, result, shown)


def _average(node: exp.Avg, plan: tuple[SparkType, ...], shown: str) -> str:
    """Spark's avg of a decimal: sum (ten more digits) / count, by the division's rules."""
    _, total, result = plan
    argument = node.this.sql(dialect="duckdb")
    dividend = _unscaled(None, f"sum({argument})", total)
    divisor = f"CAST(count({argument}) AS HUGEINT)"
    return _exact_quotient(dividend, total, divisor, types.decimal(20, 0), result, shown)


def _duck(node: exp.Expr) -> str:
    return f"({node.sql(dialect='duckdb')})"


def _unscaled(node: exp.Expr | None, sql: str, kind: SparkType) -> str:
    """The operand's unscaled integer at its Spark decimal type, as HUGEINT. The decimal's text
    without its point is that integer: DuckDB writes every digit of the scale."""
    literal = None if node is None else _integer_literal(node)
    if literal is not None:
        return f"CAST('{literal}' AS HUGEINT)"
    decimal = f"CAST({sql} AS DECIMAL({kind.precision}, {kind.scale}))"
    if kind.scale == 0:
        return f"CAST({decimal} AS HUGEINT)"
    return f"CAST(replace(CAST({decimal} AS VARCHAR), '.', '') AS HUGEINT)"


def _exact_quotient(
    dividend: str, left: SparkType, divisor: str, right: SparkType, result: SparkType, shown: str
) -> str:
    """``dividend / divisor`` (unscaled integers of ``left`` and ``right``) at ``result``.

    Spark 4.1 divides to scale 39 rounding down, then rounds half up to the result's scale
    (< 39): the same as one half-up rounding of the exact quotient, away from zero on a tie.
    """
    shift = result.scale + right.scale - left.scale
    n = f"({dividend} * {_power(shift)})" if shift else f"({dividend})"
    d = f"({divisor})"
    a, b = f"abs({n})", f"abs({d})"
    magnitude = f"{a} // {b} + CASE WHEN {a} % {b} >= ({b} + 1) // 2 THEN 1 ELSE 0 END"
    signed = f"sign({n}) * sign({d}) * ({magnitude})"
    if result.scale:
        unit = "0." + "0" * (result.scale - 1) + "1"
        signed = (
            f"CAST({signed} AS DECIMAL(38, 0)) "
            f"* CAST('{unit}' AS DECIMAL({result.scale}, {result.scale}))"
        )
    value = f"CAST({signed} AS DECIMAL({result.precision}, {result.scale}))"
    return (
        f"(CASE WHEN {d} = 0 AND {n} IS NOT NULL THEN error({_zero_divisor(shown)}) "
        f"ELSE {value} END)"
    )


def _power(digits: int) -> str:
    return f"CAST('1{'0' * digits}' AS HUGEINT)"
