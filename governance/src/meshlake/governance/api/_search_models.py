"""API models of the catalog search (``GET /api/v1/search``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from meshlake.governance.services._search import CANDIDATE_CAP, FACET_SAMPLE, TOTAL_CAP


class SearchHitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: Literal["product", "dataset", "column", "term", "quarantine"]
    ref: str = Field(
        description="The document's reference: domain.product, domain.product.port,"
        " domain.product.port.column, term:<name> or (a port's quarantine table)"
        " domain.product._quarantine.port."
    )
    name: str
    domain: str | None
    owner: str | None = Field(description="The owning team (or first owner) of the product.")
    classification: str | None
    tags: list[str]
    description: str
    match: Literal["exact_name", "name_prefix", "text", "browse"] = Field(
        description="Why it matched: its name is the query, its name starts with the query,"
        " its text holds the query's words, or (no words in the query) it passes the filters."
    )
    score: float | None = Field(
        description="Full-text relevance, higher is better (bm25 on SQLite, ts_rank_cd on"
        " PostgreSQL: not comparable between the two); null when order is not 'relevance'."
    )
    highlight: str = Field(
        description="HTML-safe snippet of the description (else the body, else the name): the"
        " text is HTML-escaped and each matched word is wrapped in <mark>…</mark>; a cut end"
        " shows …."
    )


class FacetCountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    value: str
    count: int


class FacetsOut(BaseModel):
    """Counts per value over the whole match set (not the page), most frequent first."""

    model_config = ConfigDict(from_attributes=True)

    kind: list[FacetCountOut]
    domain: list[FacetCountOut]
    classification: list[FacetCountOut]
    owner: list[FacetCountOut]
    tag: list[FacetCountOut]


class SearchPageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    hits: list[SearchHitOut]
    total: int = Field(description="Documents matching the query and the filters.")
    total_exact: bool = Field(
        description=f"False when the matches were counted no further than {TOTAL_CAP:,} (total"
        " is then that lower bound)."
    )
    facets: FacetsOut
    facets_exact: bool = Field(
        description=f"False when the match set is over {CANDIDATE_CAP} documents: the facets"
        f" then count its newest {FACET_SAMPLE}."
    )
    order: Literal["relevance", "ref", "recency"] = Field(
        description="Exact names first, then name prefixes, then: 'relevance' (full-text score),"
        " 'ref' (a query word is too common to score cheaply, or the query has no words) or"
        f" 'recency' (over {CANDIDATE_CAP} matches: newest first)."
    )
    next_cursor: str | None = Field(
        description="Pass as cursor, with the same q and filters, for the next page; null on"
        " the last page."
    )
