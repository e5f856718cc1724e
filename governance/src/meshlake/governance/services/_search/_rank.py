"""Search: the match set walked once, exact names first, then name prefixes, then relevance."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meshlake.governance._errors import ConflictError, InvalidRequestError
from meshlake.governance.services._search._cursor import (
    _decode_cursor,
    _encode_cursor,
    _fingerprint,
)
from meshlake.governance.services._search._facets import _facets
from meshlake.governance.services._search._highlight import highlight
from meshlake.governance.services._search._index import _Index, _PostgresIndex, _SqliteIndex
from meshlake.governance.services._search._model import (
    _TIERS,
    CANDIDATE_CAP,
    FACET_SAMPLE,
    MAX_LIMIT,
    TOTAL_CAP,
    Facets,
    Order,
    SearchHit,
    SearchPage,
)
from meshlake.governance.services._search._query import Filters, Query


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
