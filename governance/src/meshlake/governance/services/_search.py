"""Catalog search over ``search_documents``: exact names first, then name prefixes, then relevance.

The order of the hits is, for a query's match set M (every document holding every query word, the
last word as a prefix, and passing the filters):

1. ``exact_name``: the document's name is the query (``employees``, ``Employees``,
   ``pump health`` for ``pump_health``);
2. ``name_prefix``: the name starts with the query (``emplo``, ``customer ch``);
3. ``text``: the rest, by full-text relevance: bm25 on SQLite (name 10, description 4, body 2),
   ``ts_rank_cd`` on PostgreSQL (name A, description B, body C);

ties broken by ``ref``. Relevance scores are not comparable between the two databases.

Bounded cost. FACTS.md: naive FTS5 ``ORDER BY rank LIMIT 20`` has p99 ~45 ms on 100k entries.
That query pays for every match twice: bm25 needs each term's document frequency, which FTS5
computes by walking the term's whole doclist, and then it scores (a row look-up) every match
before the LIMIT. Here every step reads a bounded number of entries:

* M is walked once, newest first (``ORDER BY rowid DESC``, which FTS5 walks without sorting),
  stopping after ``TOTAL_CAP`` + 1 ids: that counts it (``total``, exact up to the cap) and gives
  the candidates. The filters are FTS5 terms too (facet tokens, see the migration), so a filter
  narrows the walk instead of adding a row look-up per match.
* When M fits under ``CANDIDATE_CAP`` (most real queries: names, specific words), all of it is
  ordered as above and the facets are exact (``order="relevance"``). On SQLite that also needs
  every query word to be in at most ``FREQUENT_TERM`` documents (a bounded walk per word):
  bm25's frequency walk over a word like "date" alone costs more than the whole budget, so a
  query holding such a word keeps the name tiers and then goes by ``ref`` (``order="ref"``).
  ``ts_rank_cd`` has no corpus statistics, so PostgreSQL always ranks.
* When M is over ``CANDIDATE_CAP`` (a common word, a short prefix), nothing ranks all of it: the
  hits are the exact-name and name-prefix documents, found through the ``(lower(name), ref)``
  index (at most ``NAME_SCAN`` entries read), then the other matches newest first
  (``order="recency"``), and the facets count the newest ``FACET_SAMPLE`` matches
  (``facets_exact`` is false). Recency rather than a partial bm25: the newest documents are a
  fair guess at what a catalog user wants when the words do not decide, and it is the order the
  index walks for free, so the cursor can carry on through the whole match set.

Rows come back from the database as one JSON array per statement: on the hot path, building a
Python row object per row cost more than the database's own work.

Query syntax: none. The query is split into words (runs of letters and digits, lower-cased, as
both full-text indexes split text), at most ``MAX_TERMS`` of them, and every word must match; the
last word matches as a prefix unless the query ends with a space. Quotes, ``*``, ``-``,
``NEAR(``, parentheses and SQL are just separators: the words are quoted by this module, never
passed through. A query without words lists the documents that pass the filters.

Pagination: ``next_cursor`` is an opaque token holding the last hit's sort key (keyset, not an
offset): walking it gives every hit once, in the order of one big page. A cursor only works with
the query and filters that produced it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, Literal, Protocol

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from meshlake.governance._errors import ConflictError, InvalidRequestError

CANDIDATE_CAP = 200
"""Matches enumerated per query; up to here the order, the facets and the total are exact."""
FREQUENT_TERM = 2_000
"""SQLite: a word in more documents than this is too costly for bm25 (its frequency walk)."""
NAME_SCAN = 100
"""Name-index entries read for the exact-name and name-prefix hits when M is over the cap."""
TOTAL_CAP = 500
"""Matches counted (the walk of M stops here); ``total`` is exact up to here."""
FACET_SAMPLE = 100
"""When M is over ``CANDIDATE_CAP``, the facets count its newest this many documents."""
MAX_TERMS = 8
MAX_TERM_CHARS = 64
MAX_LIMIT = 100
SNIPPET_CHARS = 160

Match = Literal["exact_name", "name_prefix", "text", "browse"]
Order = Literal["relevance", "ref", "recency"]

_WORD = re.compile(r"[^\W_]+")
_TIERS: tuple[Match, ...] = ("exact_name", "name_prefix", "text")
_BM25 = "bm25(search_fts, 10.0, 4.0, 2.0, 0.0)"
_TEXT_COLUMNS = "{name description body}"


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    kind: str
    ref: str
    name: str
    domain: str | None
    owner: str | None
    classification: str | None
    tags: list[str]
    description: str
    match: Match
    score: float | None
    highlight: str


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


@dataclass(frozen=True)
class Facets:
    kind: list[FacetCount] = field(default_factory=list)
    domain: list[FacetCount] = field(default_factory=list)
    classification: list[FacetCount] = field(default_factory=list)
    owner: list[FacetCount] = field(default_factory=list)
    tag: list[FacetCount] = field(default_factory=list)


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int
    total_exact: bool
    facets: Facets
    facets_exact: bool
    order: Order
    next_cursor: str | None


# -- the query ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """The words of a search box: every one must match, the last as a prefix if ``prefix``."""

    words: tuple[str, ...]
    prefix: bool
    text: str

    @classmethod
    def parse(cls, q: str) -> Query:
        """The words of ``q``, each once (a repeat adds nothing to "every word matches")."""
        found = [word.lower() for word in _WORD.findall(q)]
        prefix = bool(found) and not q[-1:].isspace()
        words = list(dict.fromkeys(found))
        if prefix and found[-1] in found[:-1]:
            words.remove(found[-1])  # the whole word is stricter than the same word as a prefix
            words.append(found[-1])
            prefix = False
        if len(words) > MAX_TERMS:
            words, prefix = words[:MAX_TERMS], False  # the partial word was cut off
        return cls(tuple(words), prefix=prefix, text=q.strip().lower())

    @property
    def impossible(self) -> bool:
        """A word too long to be in any document (PostgreSQL drops such words from tsvectors)."""
        return any(len(word) > MAX_TERM_CHARS for word in self.words)

    def word_matches(self, token: str, position: int) -> bool:
        word = self.words[position]
        last = position == len(self.words) - 1
        return token.startswith(word) if last and self.prefix else token == word

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The query's words as whole words (the last one as a prefix), for highlighting."""
        alternatives = [re.escape(word) for word in self.words]
        if self.prefix:
            alternatives[-1] += r"[^\W_]*"
        return re.compile(rf"(?<![^\W_])(?:{'|'.join(alternatives)})(?![^\W_])", re.IGNORECASE)

    def tier(self, name: str) -> tuple[int, int]:
        """(0, 0) for an exact name; (1, extra words) for a name prefix; (2, 0) otherwise.

        Among name prefixes, fewer extra words first: "emplo" completes to ``employees``
        before ``employee_id``.
        """
        if not self.words:
            return 2, 0
        lowered = name.lower()
        if self.words[0] not in lowered:  # the common case, and cheap to rule out
            return 2, 0
        tokens = _WORD.findall(lowered)
        if tuple(tokens) == self.words or lowered.strip() == self.text:
            return 0, 0
        if len(tokens) >= len(self.words) and all(
            self.word_matches(token, position)
            for position, token in enumerate(tokens[: len(self.words)])
        ):
            return 1, len(tokens) - len(self.words)
        return 2, 0

    def name_range(self) -> tuple[str, str]:
        """Names starting with the words joined the identifier way (``customer_ch``)."""
        low = "_".join(self.words)
        following = ord(low[-1]) + 1
        if 0xD800 <= following <= 0xDFFF:  # no surrogates in UTF-8
            following = 0xE000
        return low, low[:-1] + chr(following)


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    domain: str | None = None
    classification: str | None = None
    owner: str | None = None
    tag: str | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in self.fields())

    def fields(self) -> tuple[str | None, ...]:
        return (self.kind, self.domain, self.classification, self.owner, self.tag)

    def tokens(self) -> list[str]:
        """SQLite's facet tokens for these values (see the migration): a letter and the hex of
        the value's UTF-8 bytes, one unicode61 token whatever the value holds."""
        return [
            letter + value.encode().hex()
            for letter, value in zip("kdcot", self.fields(), strict=True)
            if value is not None
        ]

    def lexemes(self) -> list[str]:
        """PostgreSQL's facet lexemes (``search_facet_lexemes`` in the migration)."""
        return [
            f"{letter}:{hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()}"
            for letter, value in zip("kdcot", self.fields(), strict=True)
            if value is not None
        ]


# -- the two databases --------------------------------------------------------------------------


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


# -- search -------------------------------------------------------------------------------------


def search(
    session: Session,
    q: str,
    type: str | None = None,  # the API's parameter name; shadows the builtin here only
    domain: str | None = None,
    tag: str | None = None,
    classification: str | None = None,
    owner: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> SearchPage:
    """One page of the documents matching ``q`` and the filters, best first (see the module doc).

    Raises InvalidRequestError for a limit outside 1..100 or a cursor that is not this query's,
    ConflictError when the match set crossed ``CANDIDATE_CAP`` since the cursor's page (the
    order changed kind; search again without the cursor).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    query = Query.parse(q)
    # An empty value (a cleared form field) filters nothing.
    filters = Filters(
        type or None, domain or None, classification or None, owner or None, tag or None
    )
    fingerprint = _fingerprint(query, filters)
    position = _decode_cursor(cursor, fingerprint) if cursor else None
    if query.impossible or any("\x00" in value for value in filters.fields() if value):
        # No indexed word is that long and no stored value holds a NUL (which PostgreSQL
        # would refuse as a parameter).
        return SearchPage([], 0, True, Facets(), True, "relevance", None)
    sqlite = session.get_bind().dialect.name == "sqlite"
    index: _Index = _SqliteIndex(session) if sqlite else _PostgresIndex(session)
    # One walk both enumerates M (newest first) and counts it, up to TOTAL_CAP.
    ids = index.matches(query, filters, None, TOTAL_CAP + 1)
    if len(ids) <= CANDIDATE_CAP:
        return _complete(index, query, filters, ids, limit, position, fingerprint)
    return _capped(index, query, filters, ids, limit, position, fingerprint)


def _complete(
    index: _Index,
    query: Query,
    filters: Filters,
    ids: list[int],
    limit: int,
    position: dict[str, Any] | None,
    fingerprint: str,
) -> SearchPage:
    """M is under the cap: rank all of it, count all of it."""
    if position is not None and position.get("m") != "all":
        raise _changed()
    rows = index.candidates(query, filters, ids)
    scores = {row[0]: float(row[1]) for row in rows if row[1] is not None}
    keyed = sorted(((*query.tier(row[2]), scores.get(row[0], 0.0), row[3]), row[0]) for row in rows)
    start = 0
    if position is not None:
        after = tuple(position["k"])
        start = next((i for i, (key, _) in enumerate(keyed) if key > after), len(keyed))
    page = keyed[start : start + limit]
    more = start + limit < len(keyed)
    next_cursor = (
        _encode_cursor(fingerprint, {"m": "all", "k": list(page[-1][0])}) if more else None
    )
    order: Order = "relevance" if scores or (query.words and not ids) else "ref"
    hits = _hits(index, query, [doc_id for _, doc_id in page], scores)
    facets = _facets([row[4:] for row in rows])
    return SearchPage(hits, len(ids), True, facets, True, order, next_cursor)


def _capped(
    index: _Index,
    query: Query,
    filters: Filters,
    ids: list[int],
    limit: int,
    position: dict[str, Any] | None,
    fingerprint: str,
) -> SearchPage:
    """M is over the cap: name tiers from the name index, then the rest newest first."""
    if position is not None and position.get("m") != "cap":
        raise _changed()
    head = sorted(
        ((*query.tier(name), ref), doc_id)
        for doc_id, name, ref in (index.name_head(query, filters) if query.words else [])
    )
    head_ids = {doc_id for _, doc_id in head}
    page: list[tuple[str, Any, int]] = []  # (part, key, id)
    below: int | None = None
    if position is None or "h" in position:
        after = tuple(position["h"]) if position else None
        page += [("h", key, doc_id) for key, doc_id in head if after is None or key > after]
    else:
        below = int(position["t"])
    if len(page) <= limit:
        wanted = limit + 1 - len(page) + len(head_ids)
        newest = ids if below is None and wanted <= len(ids) else None  # the first page's
        newest = newest or index.matches(query, filters, below, wanted)
        page += [("t", doc_id, doc_id) for doc_id in newest if doc_id not in head_ids]
    more = len(page) > limit
    page = page[:limit]
    next_cursor = None
    if more:
        part, key, _ = page[-1]
        state = {"m": "cap", "h": list(key)} if part == "h" else {"m": "cap", "t": key}
        next_cursor = _encode_cursor(fingerprint, state)
    hits = _hits(index, query, [doc_id for _, _, doc_id in page], {})
    return SearchPage(
        hits,
        min(len(ids), TOTAL_CAP),
        len(ids) <= TOTAL_CAP,
        index.facets(ids[:FACET_SAMPLE]),
        False,
        "recency",
        next_cursor,
    )


def _changed() -> ConflictError:
    return ConflictError(
        f"the matches of this search crossed {CANDIDATE_CAP} documents since the cursor's page,"
        " so their order changed; search again without the cursor"
    )


def _hits(index: _Index, query: Query, ids: list[int], scores: dict[int, float]) -> list[SearchHit]:
    docs = index.docs(ids)
    hits = []
    for doc_id in ids:
        doc = docs.get(doc_id)
        if doc is None:  # re-indexed by a concurrent write since the walk (PostgreSQL)
            continue
        tier, _ = query.tier(doc.name)
        score = scores.get(doc_id)
        hits.append(
            SearchHit(
                kind=doc.kind,
                ref=doc.ref,
                name=doc.name,
                domain=doc.domain,
                owner=doc.owner,
                classification=doc.classification,
                tags=list(doc.tags or []),
                description=doc.description,
                match=_TIERS[tier] if query.words else "browse",
                score=-score if score is not None else None,
                highlight=highlight(query, doc.description, doc.body, doc.name),
            )
        )
    return hits


def _facets(rows: Sequence[Sequence[Any]]) -> Facets:
    """Facets from (kind, domain, classification, owner, tags) rows, one per document."""

    def ordered(values: Iterable[str | None]) -> list[FacetCount]:
        counter = Counter(values)  # counted in C; the rows' columns go in whole
        counter.pop(None, None)
        pairs = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
        return [FacetCount(value, count) for value, count in pairs if value is not None]

    if not rows:
        return Facets()
    kind, domain, classification, owner, tags = zip(*rows, strict=True)
    # SQLite nests the tags as JSON text (a string); PostgreSQL as an array.
    tags = tuple(json.loads(listed) if isinstance(listed, str) else listed for listed in tags)
    return Facets(
        kind=ordered(kind),
        domain=ordered(domain),
        classification=ordered(classification),
        owner=ordered(owner),
        tag=ordered(tag for listed in tags for tag in set(listed or ())),
    )


# -- highlight ----------------------------------------------------------------------------------


def highlight(query: Query, *texts: str) -> str:
    """An HTML-safe snippet of the first of ``texts`` holding a query word, words in ``<mark>``.

    The text is HTML-escaped; each matching word (a whole word, or a word starting with the
    last query word when that is a prefix) is wrapped in ``<mark>…</mark>``; a cut end gets
    ``…``. Without a match, the start of the first non-empty text, escaped and unmarked.
    """
    for content in texts:
        if not content:
            continue
        spans = [found.span() for found in query.pattern.finditer(content)] if query.words else []
        if spans:
            return _snippet(content, spans)
    first = next((content for content in texts if content), "")
    return _snippet(first, [])


def _snippet(content: str, spans: list[tuple[int, int]]) -> str:
    start = 0
    if spans and spans[0][0] > SNIPPET_CHARS // 3:
        start = content.rfind(" ", 0, spans[0][0] - SNIPPET_CHARS // 4) + 1
    end = len(content)
    if end - start > SNIPPET_CHARS:
        end = content.rfind(" ", start, start + SNIPPET_CHARS)
        end = end if end > start else start + SNIPPET_CHARS
    parts = ["…"] if start > 0 else []
    cursor = start
    for span_start, span_end in spans:
        if span_start < start or span_end > end:
            continue
        parts += [
            html.escape(content[cursor:span_start]),
            "<mark>",
            html.escape(content[span_start:span_end]),
            "</mark>",
        ]
        cursor = span_end
    parts.append(html.escape(content[cursor:end]))
    if end < len(content):
        parts.append("…")
    return "".join(parts)


# -- cursors ------------------------------------------------------------------------------------


def _fingerprint(query: Query, filters: Filters) -> str:
    material = json.dumps([query.words, query.prefix, filters.fields()])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _encode_cursor(fingerprint: str, state: dict[str, Any]) -> str:
    raw = json.dumps({"v": 1, "f": fingerprint, **state}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        state = json.loads(raw)
        valid = (
            isinstance(state, dict)
            and state.get("v") == 1
            and (
                (state.get("m") == "all" and _valid_key(state.get("k"), (int, int, float, str)))
                or (state.get("m") == "cap" and _valid_key(state.get("h"), (int, int, str)))
                or (state.get("m") == "cap" and isinstance(state.get("t"), int))
            )
        )
    except (binascii.Error, ValueError, UnicodeDecodeError):
        valid = False
    if not valid:
        raise InvalidRequestError("cursor: not a cursor from this API; use a next_cursor value")
    if state["f"] != fingerprint:
        raise InvalidRequestError(
            "cursor: it belongs to another query or other filters; pass the same q and filters"
        )
    return dict(state)


def _valid_key(key: Any, types: tuple[type, ...]) -> bool:
    return (
        isinstance(key, list)
        and len(key) == len(types)
        and all(
            isinstance(part, kind) and not isinstance(part, bool)
            for part, kind in zip(key, types, strict=True)
        )
    )
