"""The two full-text indexes: SQLite FTS5 (embedded) and PostgreSQL tsvector (at scale)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from meshlake.governance.services._search._facets import _facets
from meshlake.governance.services._search._model import (
    _BM25,
    _TEXT_COLUMNS,
    FREQUENT_TERM,
    NAME_SCAN,
    Facets,
)
from meshlake.governance.services._search._query import Filters, Query


@dataclass(frozen=True)
class _Doc:
    id: int
    kind: str
    ref: str
    name: str
    domain: str | None
    owner: str | None
    classification: str | None
    tags: list[str]
    description: str
    body: str


class _Index(Protocol):
    def matches(self, query: Query, filters: Filters, below: int | None, limit: int) -> list[int]:
        """Ids of matching documents, newest first, below ``below`` if given."""

    def candidates(self, query: Query, filters: Filters, ids: Sequence[int]) -> list[list[Any]]:
        """For each of ``ids``: [id, sort key, name, ref, kind, domain, classification, owner,
        tags]; the sort key is the relevance (lower is better), or None for all rows when the
        query has no words or ranking would cost too much."""

    def name_head(self, query: Query, filters: Filters) -> list[tuple[int, str, str]]:
        """(id, lower-case name, ref) of exact-name and name-prefix documents, from the name
        index (at most ``NAME_SCAN`` entries read)."""

    def docs(self, ids: Sequence[int]) -> dict[int, _Doc]:
        """The documents ``ids``, whole (for the hits of a page)."""

    def facets(self, ids: Sequence[int]) -> Facets:
        """Facet counts over the documents ``ids``."""


_FIELDS = (
    "id",
    "kind",
    "ref",
    "name",
    "domain",
    "owner",
    "classification",
    "tags",
    "description",
    "body",
)


_FILTER_COLUMNS = ("kind", "domain", "classification", "owner")
_FACET_COLUMNS = "r.kind, r.domain, r.classification, r.owner, r.tags"


@cache
def _statement(sql: str) -> TextClause:
    """``text(sql)``, built once: parsing the SQL for parameters cost more than running it.

    The statements come from a fixed set of shapes (a few per filter combination), so the
    cache stays small; values are always bound parameters, never part of the SQL.
    """
    return text(sql)


class _Sql:
    """What both indexes share: plain SQL (``text``) on the hot path, compiled once per shape.

    Lists of ids travel as one parameter (a JSON array on SQLite, an array on PostgreSQL), so
    a statement's text does not depend on how many ids there are. Result sets of hundreds of
    rows come back as one JSON array (``json_rows``): building a row object per row costs more
    than the database's work here.
    """

    ids_in: str
    tag_filter: str
    name_key: str
    ref_key: str
    json_array: str  # SQL for a JSON array of its arguments
    json_agg: str  # SQL aggregating one JSON value per row into an array

    def __init__(self, session: Session) -> None:
        # The session's connection (and transaction) itself: plain SQL needs none of the ORM.
        self.connection = session.connection()

    def ids_param(self, ids: Sequence[int]) -> Any:
        return list(ids)

    def json_rows(self, values: str, rows_sql: str, params: dict[str, Any]) -> list[Any]:
        """``values`` (SQL for one JSON value) for each row of ``rows_sql`` (aliased ``r``)."""
        sql = f"SELECT {self.json_agg.format(values)} FROM ({rows_sql}) AS r"
        found = self.connection.execute(_statement(sql), params).scalar_one()
        return list(json.loads(found) if isinstance(found, str) else found or [])

    def filter_sql(self, filters: Filters) -> tuple[str, dict[str, Any]]:
        """`` AND ...`` conditions over search_documents' columns, and their parameters."""
        conditions = [
            f" AND {column} = :filter_{column}"
            for column, value in zip(_FILTER_COLUMNS, filters.fields()[:4], strict=True)
            if value is not None
        ]
        params: dict[str, Any] = {
            f"filter_{column}": value
            for column, value in zip(_FILTER_COLUMNS, filters.fields()[:4], strict=True)
            if value is not None
        }
        if filters.tag is not None:
            conditions.append(f" AND {self.tag_filter}")
            params["filter_tag"] = filters.tag
        return "".join(conditions), params

    def docs(self, ids: Sequence[int]) -> dict[int, _Doc]:
        if not ids:
            return {}
        rows = self.json_rows(
            self.json_array.format(", ".join(f"r.{field}" for field in _FIELDS)),
            f"SELECT * FROM search_documents WHERE {self.ids_in}",
            {"ids": self.ids_param(ids)},
        )
        return _as_docs(rows)

    def unranked(self, ids: Sequence[int]) -> list[list[Any]]:
        """``candidates`` without a sort key."""
        if not ids:
            return []
        return self.json_rows(
            self.json_array.format(f"r.id, NULL, r.name, r.ref, {_FACET_COLUMNS}"),
            f"SELECT * FROM search_documents WHERE {self.ids_in}",
            {"ids": self.ids_param(ids)},
        )

    def facets(self, ids: Sequence[int]) -> Facets:
        if not ids:
            return Facets()
        rows = self.json_rows(
            self.json_array.format(_FACET_COLUMNS),
            f"SELECT * FROM search_documents WHERE {self.ids_in}",
            {"ids": self.ids_param(ids)},
        )
        return _facets(rows)

    def name_head(self, query: Query, filters: Filters) -> list[tuple[int, str, str]]:
        low, high = query.name_range()
        conditions, params = self.filter_sql(filters)
        # Without filters the index alone answers; with them, they look at the scanned
        # entries only, so the scan stays bounded either way.
        extra = f", {', '.join(_FILTER_COLUMNS)}, tags" if filters else ""
        rows = self.connection.execute(
            _statement(
                f"SELECT id, name, ref FROM (SELECT id, {self.name_key} AS name, ref{extra}"
                f" FROM search_documents WHERE {self.name_key} >= :low AND {self.name_key} < :high"
                f" ORDER BY {self.name_key}, {self.ref_key} LIMIT :scan) AS scanned"
                f" WHERE 1 = 1{conditions}"
            ),
            {"low": low, "high": high, "scan": NAME_SCAN, **params},
        ).all()
        return [(row[0], row[1], row[2]) for row in rows if query.tier(row[1])[0] < 2]


def _as_docs(rows: Sequence[Any]) -> dict[int, _Doc]:
    docs = {}
    for row in rows:
        tags = json.loads(row[7]) if isinstance(row[7], str) else row[7]  # SQLite: JSON text
        docs[row[0]] = _Doc(
            id=row[0],
            kind=row[1],
            ref=row[2],
            name=row[3],
            domain=row[4],
            owner=row[5],
            classification=row[6],
            tags=list(tags or []),
            description=row[8],
            body=row[9],
        )
    return docs


class _SqliteIndex(_Sql):
    """FTS5 (``search_fts``, contentless, facet tokens in the ``facets`` column)."""

    ids_in = "id IN (SELECT value FROM json_each(:ids))"
    tag_filter = "EXISTS (SELECT 1 FROM json_each(tags) WHERE value = :filter_tag)"
    json_array = "json_array({})"
    json_agg = "json_group_array({})"
    name_key = "lower(name)"
    ref_key = "ref"

    def ids_param(self, ids: Sequence[int]) -> Any:
        return json.dumps(list(ids))

    @staticmethod
    def text_expression(query: Query) -> str:
        quoted = [f'"{word}"' for word in query.words]  # letters and digits: nothing to escape
        if query.prefix:
            quoted[-1] += " *"
        return f"{_TEXT_COLUMNS} : ({' AND '.join(quoted)})"

    def expression(self, query: Query, filters: Filters) -> str | None:
        parts = [self.text_expression(query)] if query.words else []
        parts += [f'facets : "{token}"' for token in filters.tokens()]
        return " AND ".join(parts) or None

    def matches(self, query: Query, filters: Filters, below: int | None, limit: int) -> list[int]:
        expression = self.expression(query, filters)
        params: dict[str, Any] = {"limit": limit, "below": below if below is not None else 2**62}
        if expression is None:
            sql = (
                "SELECT id AS rowid FROM search_documents WHERE id < :below"
                " ORDER BY id DESC LIMIT :limit"
            )
        else:
            sql = (
                "SELECT rowid FROM search_fts WHERE search_fts MATCH :expression"
                " AND rowid < :below ORDER BY rowid DESC LIMIT :limit"
            )
            params["expression"] = expression
        # Newest first: the JSON array's order is the database's to choose, so sort here.
        return sorted(self.json_rows("r.rowid", sql, params), reverse=True)

    def count(self, query: Query, filters: Filters, cap: int) -> int:
        expression = self.expression(query, filters)
        params: dict[str, Any] = {"cap": cap}
        if expression is None:
            sql = "SELECT count(*) FROM (SELECT 1 FROM search_documents LIMIT :cap)"
        else:
            sql = (
                "SELECT count(*) FROM (SELECT 1 FROM search_fts"
                " WHERE search_fts MATCH :expression LIMIT :cap)"
            )
            params["expression"] = expression
        return int(self.connection.execute(_statement(sql), params).scalar_one())

    def frequent(self, query: Query) -> bool:
        """Whether a word is in more than ``FREQUENT_TERM`` documents (a bounded walk each)."""
        for position, word in enumerate(query.words):
            last = position == len(query.words) - 1
            single = Query((word,), prefix=query.prefix and last, text=word)
            if self.count(single, Filters(), FREQUENT_TERM + 1) > FREQUENT_TERM:
                return True
        return False

    def candidates(self, query: Query, filters: Filters, ids: Sequence[int]) -> list[list[Any]]:
        if not ids or not query.words:
            return self.unranked(ids)
        # One word and no filters: ``ids`` is that word's whole doclist, already short.
        if not (len(query.words) == 1 and not filters) and self.frequent(query):
            return self.unranked(ids)
        # One FTS5 cursor over the ids' rowid range (bm25's frequency walk happens once per
        # cursor, so no per-id IN look-ups); "+rowid IN" is checked by SQLite before bm25 runs,
        # so only the ids are scored. The filters are already in ``ids``: leaving their tokens
        # out keeps bm25 from walking their (long) doclists too. MATERIALIZED: FTS5 functions
        # cannot run inside the aggregate.
        sql = (
            f"WITH scored AS MATERIALIZED (SELECT rowid AS id, {_BM25} AS score FROM search_fts"
            " WHERE search_fts MATCH :expression AND rowid BETWEEN :low AND :high"
            " AND +rowid IN (SELECT value FROM json_each(:ids)))"
            " SELECT json_group_array(json_array(r.id, scored.score, r.name, r.ref,"
            f" {_FACET_COLUMNS}))"
            " FROM scored JOIN search_documents AS r ON r.id = scored.id"
        )
        params = {
            "expression": self.text_expression(query),
            "low": min(ids),
            "high": max(ids),
            "ids": self.ids_param(ids),
        }
        return list(json.loads(self.connection.execute(_statement(sql), params).scalar_one()))


class _PostgresIndex(_Sql):
    """The generated ``search_vector`` (GIN) and plain SQL filters."""

    ids_in = "id = ANY(:ids)"
    tag_filter = "CAST(tags AS jsonb) @> jsonb_build_array(CAST(:filter_tag AS text))"
    json_array = "json_build_array({})"
    json_agg = "json_agg({})"
    # Byte order, as the index has it: a prefix is then a range.
    name_key = 'lower(name) COLLATE "C"'
    ref_key = 'ref COLLATE "C"'

    @staticmethod
    def tsquery(query: Query) -> str:
        quoted = [f"'{word}'" for word in query.words]  # letters and digits: nothing to escape
        if query.prefix:
            quoted[-1] += ":*"
        return " & ".join(quoted)

    def where(self, query: Query, filters: Filters) -> tuple[str, dict[str, Any]]:
        """The text query and the filters as one GIN condition (filters as facet lexemes)."""
        parts, params = [], {}
        if query.words:
            parts.append("to_tsquery('simple', :tsquery)")
            params["tsquery"] = self.tsquery(query)
        if filters:
            # Quoted lexemes, taken as they are (no parsing): md5 hex after a letter and ':'.
            parts.append("CAST(:facets AS tsquery)")
            params["facets"] = " & ".join(f"'{lexeme}'" for lexeme in filters.lexemes())
        if not parts:
            return "", params
        return f" AND search_vector @@ ({' && '.join(parts)})", params

    def matches(self, query: Query, filters: Filters, below: int | None, limit: int) -> list[int]:
        conditions, params = self.where(query, filters)
        if below is not None:
            conditions += " AND id < :below"
            params["below"] = below
        sql = (
            f"SELECT id FROM search_documents WHERE 1 = 1{conditions} ORDER BY id DESC LIMIT :limit"
        )
        return sorted(self.json_rows("r.id", sql, {**params, "limit": limit}), reverse=True)

    def candidates(self, query: Query, filters: Filters, ids: Sequence[int]) -> list[list[Any]]:
        if not ids or not query.words:
            return self.unranked(ids)
        # ts_rank_cd needs no corpus statistics: scoring the ids costs the ids only.
        # Normalization 1: divide by 1 + log(document length), so long bodies do not win.
        rank = "-ts_rank_cd(r.search_vector, to_tsquery('simple', :tsquery), 1)"
        return self.json_rows(
            self.json_array.format(f"r.id, {rank}, r.name, r.ref, {_FACET_COLUMNS}"),
            f"SELECT * FROM search_documents WHERE {self.ids_in}",
            {"tsquery": self.tsquery(query), "ids": list(ids)},
        )
