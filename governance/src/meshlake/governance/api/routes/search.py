"""Catalog search: full-text search over products, datasets, columns and glossary terms."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from meshlake.governance.api._search_models import SearchPageOut
from meshlake.governance.api.deps import CallerDep, SessionDep
from meshlake.governance.services import _search

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get(
    "/search",
    summary="Search the catalog (type-ahead friendly)",
    description=(
        "Products, datasets, columns and glossary terms whose name, description or text hold"
        " every word of q (the last word as a prefix, unless q ends with a space). Documents"
        " whose name is q come first, then those whose name starts with q, then the rest by"
        " relevance; ties by ref. q has no syntax: quotes, *, -, parentheses and operators are"
        " word separators. Without words in q, lists the documents passing the filters."
        f" Facets count the whole match set (over {_search.CANDIDATE_CAP} matches: its newest"
        f" {_search.FACET_SAMPLE}, and the order turns to exact names, name prefixes, then"
        " newest first; see facets_exact and order); next_cursor pages through all of it."
    ),
)
def search(
    session: SessionDep,
    _caller: CallerDep,
    q: Annotated[str, Query(description="The words to find; empty lists everything.")] = "",
    type: Annotated[
        Literal["product", "dataset", "column", "term", "quarantine"] | None,
        Query(description="Only documents of this kind."),
    ] = None,
    domain: Annotated[str | None, Query(description="Only this domain's documents.")] = None,
    tag: Annotated[str | None, Query(description="Only documents carrying this tag.")] = None,
    classification: Annotated[
        str | None, Query(description="Only documents with this classification.")
    ] = None,
    owner: Annotated[str | None, Query(description="Only this owning team's documents.")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Hits per page.")] = 20,
    cursor: Annotated[
        str | None, Query(description="The next_cursor of the previous page.")
    ] = None,
) -> SearchPageOut:
    """HTTP only: the ranking, the bounds and the cursor are the search service's."""
    page = _search.search(
        session,
        q,
        type=type,
        domain=domain,
        tag=tag,
        classification=classification,
        owner=owner,
        limit=limit,
        cursor=cursor,
    )
    return SearchPageOut.model_validate(page)
