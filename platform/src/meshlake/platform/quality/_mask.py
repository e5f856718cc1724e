"""Failing values shown in check results, masked when their column is classified.

A Dagster check, a lineage facet or a catalog entry is read by more people than the table itself, so
a personal value must not leak through its failing sample. The mask keeps the first character and
the shape of an e-mail address (``j***@***``), enough to recognise a pattern, not a person.
"""

from __future__ import annotations

from typing import Any

MASKED_CLASSIFICATIONS = ("confidential", "personal", "sensitive", "restricted")


def is_masked(classification: str | None) -> bool:
    return (classification or "").lower() in MASKED_CLASSIFICATIONS


def mask(value: Any) -> str:
    """``jane@x.org`` -> ``j***@***``; ``Jane`` -> ``J***``; 42 -> ``***``; None -> ``null``."""
    if value is None:
        return "null"
    text = str(value)
    if not isinstance(value, str) or len(text) < 2:
        return "***"
    return f"{text[0]}***@***" if "@" in text else f"{text[0]}***"


def show(value: Any, masked: bool, masked_columns: frozenset[str] = frozenset()) -> str:
    """One failing value as text, masked when ``masked``; a compound key (a dict of column to
    value) shows each part, masked when its column is in ``masked_columns``."""
    if isinstance(value, dict):
        parts = ", ".join(
            f"{key}={show(item, key in masked_columns)}" for key, item in value.items()
        )
        return "{" + parts + "}"
    if masked:
        return mask(value)
    return "null" if value is None else str(value)
