"""The rows each rule rejects, as DuckDB predicates with Great Expectations' semantics.

The same semantics as the Spark pass (``quality/_counts.py``), rule kind by rule kind: a null
value fails ``nullValues`` (and ``missingValues`` when null is listed) and nothing else; sets,
ranges, patterns and lengths judge the non-null values. Every predicate is TRUE or FALSE, never
NULL, so ``count(*) FILTER (WHERE ...)`` counts exactly the failing rows.

Patterns are matched with DuckDB's ``regexp_matches`` (RE2, a match anywhere, as Spark's
``rlike`` with Java's engine): the two agree on the patterns contracts use (classes, anchors,
repetition); Java-only constructs (look-around, back references) do not compile in RE2, and such
a rule is not evaluated on DuckDB (``pattern_problem``) rather than counted differently.
"""

from __future__ import annotations

import duckdb

from meshlake.platform.quality._compiled import CompiledRule
from meshlake.platform.quality._duck._sqltext import literal, name, text

UNIQUENESS = ("unique", "primaryKey", "duplicateValues")


def key_columns(rule: CompiledRule) -> list[str]:
    return list(rule.kwargs.get("column_list") or [rule.column])


def failing(rule: CompiledRule, types: dict[str, str]) -> str:
    """The rows a row-level rule rejects; ``types`` maps each column to its DuckDB type."""
    assert rule.column is not None
    column, kind, kwargs = name(rule.column), rule.spec.kind, rule.kwargs
    column_type = types[rule.column]
    if kind == "nullValues":
        return f"({column} IS NULL)"
    if kind == "missingValues":
        present = [value for value in rule.missing_values if value is not None]
        parts = [f"{column} IS NULL"] if None in rule.missing_values else []
        if present:
            listed = ", ".join(literal(value, column_type) for value in present)
            parts.append(f"{column} IN ({listed})")
        return f"coalesce({' OR '.join(parts) or 'FALSE'}, FALSE)"
    if "value_set" in kwargs:
        listed = ", ".join(literal(value, column_type) for value in kwargs["value_set"])
        condition = f"NOT ({column} IN ({listed}))" if listed else "TRUE"
    elif "regex" in kwargs:
        condition = f"NOT regexp_matches(CAST({column} AS VARCHAR), {text(kwargs['regex'])})"
    elif kind == "range":
        bounds = []
        if kwargs.get("min_value") is not None:
            low = literal(kwargs["min_value"], column_type)
            bounds.append(f"{column} {'<=' if kwargs.get('strict_min') else '<'} {low}")
        if kwargs.get("max_value") is not None:
            high = literal(kwargs["max_value"], column_type)
            bounds.append(f"{column} {'>=' if kwargs.get('strict_max') else '>'} {high}")
        condition = " OR ".join(bounds) or "FALSE"
    elif kind == "length":
        size = f"length(CAST({column} AS VARCHAR))"
        bounds = []
        if kwargs.get("min_value") is not None:
            bounds.append(f"{size} < {int(kwargs['min_value'])}")
        if kwargs.get("max_value") is not None:
            bounds.append(f"{size} > {int(kwargs['max_value'])}")
        condition = " OR ".join(bounds) or "FALSE"
    else:
        raise ValueError(f"rule {rule.spec.name} ({kind}) is not row-level")
    return f"coalesce({column} IS NOT NULL AND ({condition}), FALSE)"


def pattern_problem(con: duckdb.DuckDBPyConnection, rule: CompiledRule) -> str | None:
    """Why DuckDB cannot match the rule's pattern as Spark does (None: it can, or no pattern)."""
    pattern = rule.kwargs.get("regex")
    if pattern is None:
        return None
    try:
        con.execute(f"SELECT regexp_matches('', {text(pattern)})").fetchall()
    except duckdb.Error as exc:
        return (
            f"DuckDB's regular expressions (RE2) cannot compile {pattern!r} "
            f"({str(exc).splitlines()[0]})"
        )
    return None


def any_failing(rules: list[CompiledRule], types: dict[str, str]) -> str:
    return "(" + " OR ".join(failing(rule, types) for rule in rules) + ")" if rules else "FALSE"


def key_present(rule: CompiledRule) -> str:
    """The rows a uniqueness rule judges: at least one key column is not null (GE's rule)."""
    return "(" + " OR ".join(f"{name(c)} IS NOT NULL" for c in key_columns(rule)) + ")"
