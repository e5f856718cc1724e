"""Spark SQL transforms rewritten for DuckDB, or refused with the reason.

sqlglot translates most of Spark SQL, but a translation that runs is not always one that means the
same: ``to_date(x, 'yyyy/MM/dd')`` loses its format, and an unknown function passes through
unchanged. So only functions known to behave alike on both engines are let through (``ALLOWED``);
anything else refuses the transform, and ``auto`` runs the product on Spark.

Decimal arithmetic is where the engines part: Spark divides and averages decimals exactly (rounding
half up at a scale its type rules fix), DuckDB in DOUBLE. So each decimal division and average (a
decimal column, or a literal such as ``2.0``, which Spark reads as a decimal) is rewritten to compute
Spark's exact result on DuckDB (``_decimals``), from the inputs' schemas; one that cannot be matched
exactly is refused with the reason.

Two meanings are set here because sqlglot assumes Spark's legacy (non-ANSI) mode, and meshlake's
Spark 4 sessions run in ANSI mode: ``CAST`` and ``to_date`` fail on a value they cannot convert
(instead of giving null), and ``try_to_date(x, fmt)`` keeps its format.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.errors import SqlglotError
from sqlglot.time import format_time

from meshlake.platform._duck._decimals import Refused, duckdb_sql
from meshlake.platform._errors import MeshlakeError
from meshlake.platform.specs import spark_refusal


class Untranspilable(MeshlakeError):
    """A transform the DuckDB engine cannot run faithfully; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


ALLOWED: frozenset[type[exp.Expr]] = frozenset(
    {
        # logic and conditionals
        exp.And,
        exp.Or,
        exp.Case,
        exp.If,
        exp.Coalesce,
        exp.Nullif,
        exp.Greatest,
        exp.Least,
        # conversions (see the module: ANSI casts)
        exp.Cast,
        exp.TryCast,
        exp.TsOrDsToDate,
        exp.StrToDate,
        # text
        exp.Concat,
        exp.ConcatWs,
        exp.Lower,
        exp.Upper,
        exp.Trim,
        exp.Replace,
        exp.Length,
        exp.Substring,
        exp.StartsWith,
        exp.RegexpReplace,
        exp.RegexpLike,
        exp.StrPosition,
        exp.Pad,
        exp.MD5,
        exp.SHA2,
        # numbers
        exp.Round,
        exp.Abs,
        exp.Floor,
        exp.Ceil,
        # dates
        exp.DateDiff,
        exp.TsOrDsAdd,
        exp.Year,
        exp.Month,
        exp.Day,
        # aggregates and windows
        exp.Count,
        exp.CountIf,
        exp.Sum,
        exp.Avg,
        exp.Min,
        exp.Max,
        exp.RowNumber,
    }
)


def transpile(
    sql: str, tables: Iterable[str], schema: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """``sql`` (Spark SQL over the input tables ``tables``) as DuckDB SQL; Untranspilable if it
    cannot be carried over faithfully. ``schema`` (table -> column -> Spark type) gives decimal
    arithmetic its Spark types; without it, every division and average is refused.

    A pure function of its arguments, and sqlglot's parse and rewrite take tens of milliseconds
    (35 ms of a 0.39 s publication of 100k orders): the ``auto`` engine's choice and the
    publication that follows in the same process transpile once between them."""
    frozen = (
        None
        if schema is None
        else tuple(sorted((table, tuple(sorted(types.items()))) for table, types in schema.items()))
    )
    return _transpiled(sql, tuple(sorted(tables)), frozen)


_FrozenSchema = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@functools.lru_cache(maxsize=256)
def _transpiled(sql: str, tables: tuple[str, ...], frozen: _FrozenSchema | None) -> str:
    schema = None if frozen is None else {table: dict(types) for table, types in frozen}
    try:
        statements = [tree for tree in sqlglot.parse(sql, read="spark") if tree is not None]
    except SqlglotError as exc:
        raise Untranspilable(f"sqlglot cannot parse the transform as Spark SQL: {exc}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise Untranspilable("the transform is not one SELECT query")
    tree: exp.Expr = statements[0]
    refusal = spark_refusal(tree)
    if refusal is not None:  # a product gives the same answer on either engine, failing alike
        raise Untranspilable(refusal)
    _check_tables(tree, {name.lower() for name in tables})
    for node in list(tree.find_all(exp.Func)):
        tree = _rewritten(tree, node)
    for node in tree.find_all(exp.Func):
        if type(node) not in ALLOWED:
            name = node.name if isinstance(node, exp.Anonymous) else node.sql("spark")
            raise Untranspilable(
                f"function {name.split('(')[0]} is not known to behave alike on DuckDB and Spark"
            )
        if isinstance(node, exp.SHA2) and node.text("length") not in ("", "256"):
            raise Untranspilable("sha2 with another length than 256 is not carried over")
        if isinstance(node, exp.TsOrDsToDate) and node.args.get("format") is not None:
            raise Untranspilable("to_date with a format is not carried over (sqlglot drops it)")
        if isinstance(node, exp.Substring | exp.Pad | exp.StrPosition) and _has_negative(node):
            raise Untranspilable(f"{node.sql('spark')}: negative positions differ between engines")
    try:
        return duckdb_sql(tree, schema)
    except Refused as exc:
        raise Untranspilable(exc.reason) from None
    except (AssertionError, KeyError, TypeError, ValueError) as exc:
        # A shape the decimal rules did not foresee: Spark runs it rather than a guess.
        raise Untranspilable(
            f"the decimal rules cannot type this transform ({type(exc).__name__}: {exc})"
        ) from None
    except SqlglotError as exc:
        raise Untranspilable(f"sqlglot cannot write the transform for DuckDB: {exc}") from None


def _check_tables(tree: exp.Expr, inputs: set[str]) -> None:
    """Only input tables and the query's own CTEs may be read: no files, no catalogs."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if table.args.get("db") or table.args.get("catalog") or name not in inputs | ctes:
            raise Untranspilable(f"the transform reads {table.sql('spark')}, which is no input")
    if any(True for _ in tree.find_all(exp.Lateral)):
        raise Untranspilable("LATERAL VIEW is not carried over")


def _rewritten(tree: exp.Expr, node: exp.Func) -> exp.Expr:
    """Spark 4 (ANSI) meanings that sqlglot's Spark reader does not assume."""
    replacement: exp.Expr | None = None
    if isinstance(node, exp.TryCast) and not node.args.get("safe"):
        # A plain CAST, read as a try_cast by sqlglot (legacy Spark); ANSI Spark fails instead.
        replacement = exp.Cast(this=node.this, to=node.args["to"])
    elif isinstance(node, exp.TsOrDsToDate) and node.args.get("format") is None:
        replacement = exp.Cast(this=node.this, to=exp.DataType.build("DATE"))
    elif isinstance(node, exp.Anonymous) and node.name.lower() == "try_to_date":
        replacement = _try_to_date(node)
    if replacement is None:
        return tree
    if node is tree:
        return replacement
    node.replace(replacement)
    return tree


def _try_to_date(node: exp.Anonymous) -> exp.Expr | None:
    arguments = node.expressions
    if len(arguments) != 2 or not isinstance(arguments[1], exp.Literal):
        return None
    fmt = format_time(arguments[1].name, Spark.TIME_MAPPING, Spark.TIME_TRIE)
    if fmt is None:
        return None
    return exp.StrToDate(this=arguments[0], format=exp.Literal.string(fmt), safe=True)


def _has_negative(node: exp.Func) -> bool:
    return any(
        isinstance(value, exp.Neg)
        or (isinstance(value, exp.Literal) and value.name.startswith("-"))
        for value in node.args.values()
        if isinstance(value, exp.Expr)
    )
