"""Facet counts per kind, domain, classification, owner and tag."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from meshlake.governance.services._search._model import FacetCount, Facets


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
