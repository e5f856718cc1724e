"""Classification labels, ordered from least to most restricted, so "the highest" is well defined."""

from __future__ import annotations

from collections.abc import Iterable

CLASSIFICATION_ORDER = ("public", "internal", "confidential", "personal", "sensitive", "restricted")


def highest_classification(labels: Iterable[str | None]) -> str | None:
    """The most restricted known label among ``labels``; None when there is none."""
    present = {label.lower() for label in labels if label}
    ranked = [label for label in CLASSIFICATION_ORDER if label in present]
    return ranked[-1] if ranked else None
