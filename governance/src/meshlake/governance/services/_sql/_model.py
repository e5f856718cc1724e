"""Value types of governed SQL: what a consumer may see of a table, the limits, a checked query."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableGrant:
    """What one consumer may see of one governed table.

    ``relation`` is the name the filtered Arrow table is registered under (a plain identifier);
    ``columns`` the visible columns; ``masked`` the visible columns replaced by the sha256 hex of
    their value (same name, nulls stay null); ``row_filter`` keeps only rows whose column holds one
    of the allowed values (all entries must hold). A row-filter column need not be visible: the
    rows are filtered on the data before the columns are chosen.
    """

    relation: str
    columns: tuple[str, ...]
    masked: frozenset[str] = frozenset()
    row_filter: Mapping[str, frozenset[object]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.relation.isidentifier():
            raise ValueError(f"TableGrant.relation {self.relation!r}: use a plain identifier")
        unknown = set(self.masked) - set(self.columns)
        if unknown:
            raise ValueError(
                f"TableGrant({self.relation}): masked names columns not in columns: "
                f"{sorted(unknown)}; add them to columns or drop them"
            )

    @property
    def read_columns(self) -> tuple[str, ...]:
        """The columns to read from the source: the visible ones and those the rows are
        filtered by."""
        extra = tuple(sorted(set(self.row_filter) - set(self.columns)))
        return self.columns + extra


@dataclass(frozen=True)
class QueryLimits:
    """Bounds on one governed query: rows returned, DuckDB memory and threads, wall-clock time."""

    row_limit: int = 10_000
    memory_limit: str = "256MB"
    threads: int = 1
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed ``check``: the rewritten DuckDB SQL and the grants it reads, by relation."""

    sql: str
    grants: Mapping[str, TableGrant]
    row_limit: int
