"""Search limits and results: the bounds every query stays within, and what it returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

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
