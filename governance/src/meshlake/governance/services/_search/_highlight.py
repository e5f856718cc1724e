"""Highlights: HTML-safe snippets with the matched words marked."""

from __future__ import annotations

import html

from meshlake.governance.services._search._model import SNIPPET_CHARS
from meshlake.governance.services._search._query import Query


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
