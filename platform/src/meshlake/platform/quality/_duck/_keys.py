"""Uniqueness rules on DuckDB: rows grouped by key, and the keys an append adds to.

GE's count for ``unique``, ``primaryKey`` and ``duplicateValues``: every row whose key appears
more than once, rows with a null key (every key column null) ignored, counted exactly by a GROUP
BY on the keys. Most keys are unique, and grouping millions of distinct strings is the dearest
part of the checks (at 5M keys, several times the whole counting pass), so the keys' 64-bit
hashes are sorted first (numpy, a fraction of a second): equal keys have equal hashes, so when no
hash repeats no key does, and the count is 0 without grouping. Only when some hash repeats are the
real keys grouped, so a collision costs time, never a wrong count (as the Spark checks do it).

An append is judged with the key columns of the rows already in the table (read with delta-rs
at the version the checks compare with), as the Spark checks' ``_TableKeys`` does; any other
write mode replaces or upserts rows, and its rules judge the rows checked.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from meshlake.platform.quality._compiled import CompiledRule
from meshlake.platform.quality._duck._predicates import key_columns, key_present
from meshlake.platform.quality._duck._sqltext import first_row, name

EXISTING_VIEW = "__meshlake_existing_keys__"


def existing_keys(
    port: Any, location: str, version: int | None, rules: list[CompiledRule]
) -> pa.Table | None:
    """The key columns of the table's rows at ``version`` when an append adds to them."""
    if port.write_mode != "append" or version is None or not rules:
        return None
    from deltalake import DeltaTable

    from meshlake.platform._storage import storage_options

    keys = sorted({column for rule in rules for column in key_columns(rule)})
    table = DeltaTable(location, version=version, storage_options=storage_options(location))
    if not set(keys) <= set(table.schema().to_arrow().names):
        return None  # the append cannot commit anyway: its schema is not the table's
    return table.to_pyarrow_table(columns=keys)


def judged_view(
    con: duckdb.DuckDBPyConnection, kept: str, existing: pa.Table | None
) -> tuple[str, int]:
    """The view uniqueness rules judge (the kept rows, with the table's keys for an append)
    and how many rows the table already holds."""
    if existing is None:
        return kept, 0
    con.register(EXISTING_VIEW, existing)
    columns = ", ".join(name(column) for column in existing.column_names)
    view = "__meshlake_judged_keys__"
    con.execute(
        f"CREATE TEMP VIEW {view} AS SELECT {columns} FROM {kept} "
        f"UNION ALL BY NAME SELECT {columns} FROM {EXISTING_VIEW}"
    )
    return view, existing.num_rows


def duplicate_rows(con: duckdb.DuckDBPyConnection, view: str, rule: CompiledRule) -> int:
    """How many judged rows of ``view`` share their key with another row."""
    if not _hash_repeats(con, view, rule):
        return 0
    found = first_row(
        con, f"SELECT coalesce(sum(n), 0) FROM ({_groups(view, rule, 'count(*) AS n')})"
    )
    return int(found[0]) if found else 0


def duplicate_keys(
    con: duckdb.DuckDBPyConnection, view: str, rule: CompiledRule, limit: int
) -> list[tuple[Any, ...]]:
    """Up to ``limit`` keys that appear more than once, each a tuple of its key columns."""
    keys = ", ".join(name(column) for column in key_columns(rule))
    return [
        tuple(row) for row in con.execute(f"{_groups(view, rule, keys)} LIMIT {limit}").fetchall()
    ]


def _hash_repeats(con: duckdb.DuckDBPyConnection, view: str, rule: CompiledRule) -> bool:
    """Whether two judged rows of ``view`` have keys with the same hash (a repeated key or a
    collision)."""
    keys = ", ".join(name(column) for column in key_columns(rule))
    found = con.execute(f"SELECT hash({keys}) AS h FROM {view} WHERE {key_present(rule)}")
    hashes = np.sort(found.fetchnumpy()["h"])
    return bool(np.any(hashes[1:] == hashes[:-1]))


def _groups(view: str, rule: CompiledRule, select: str) -> str:
    keys = ", ".join(name(column) for column in key_columns(rule))
    return (
        f"SELECT {select} FROM {view} WHERE {key_present(rule)} GROUP BY {keys} HAVING count(*) > 1"
    )
