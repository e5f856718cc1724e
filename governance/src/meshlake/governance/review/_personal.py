"""Columns that look like personal data, by name or by sample values (the contract's ``examples``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from meshlake.platform.specs import SchemaProperty

_NAMES: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"(^|_)e_?mail(_|$)|(^|_)email_address(_|$)")),
    ("phone", re.compile(r"(^|_)(phone|mobile|msisdn|telephone|tel|fax)(_|$)")),
    (
        "national id",
        re.compile(
            r"(^|_)(ssn|national_id|national_insurance|nino|passport(_number)?|tax_id|tin|"
            r"social_security(_number)?|personal_id|id_card|bsn|nif|nir|insee)(_|$)"
        ),
    ),
    ("birth date", re.compile(r"(^|_)(birth_?date|date_of_birth|dob|birthday|born_on)(_|$)")),
]

_VALUES: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")),
    ("national id", re.compile(r"^\d{3}-\d{2}-\d{4}$|^[A-Z]{2}\d{6}[A-D]$")),
    ("phone", re.compile(r"^\+?\(?\d[\d ()./-]{6,}\d$")),
]


@dataclass(frozen=True)
class PersonalSuspect:
    column: str  # domain.product.port.column
    kind: str
    evidence: str  # "name" | "examples"
    classification: str

    def as_dict(self) -> dict[str, str]:
        return {
            "column": self.column,
            "kind": self.kind,
            "evidence": self.evidence,
            "classification": self.classification,
        }


def looks_personal(prop: SchemaProperty) -> tuple[str, str] | None:
    """(kind, evidence) when the column's name or examples look personal; None otherwise."""
    name = prop.name.lower()
    for kind, pattern in _NAMES:
        if pattern.search(name):
            return kind, "name"
    if prop.logical_type_options.get("format") == "email":
        return "email", "format"
    for example in prop.examples:
        found = _value_kind(example)
        if found is not None:
            return found, "examples"
    return None


def _value_kind(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    for kind, pattern in _VALUES:
        if pattern.match(text) and (kind != "phone" or sum(c.isdigit() for c in text) >= 7):
            return kind
    return None
