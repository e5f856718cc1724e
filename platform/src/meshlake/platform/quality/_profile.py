"""A published version's distribution profile, kept in its own Delta commit.

Drift compares the rows about to be published with the previous version. Reading that version back
costs scans of the table on every run; instead each overwrite commit carries the profile of the
rows it wrote in the commit's ``userMetadata``, written atomically with the data, and the next run
reads one history entry. A commit without a profile (the first publication, an append or merge, a
maintenance commit such as OPTIMIZE) makes drift profile the table itself, as it always could.

Per watched column the profile holds the share of rows in each bucket: a bin under fixed ``edges``
(numeric), a category (categorical, with ``<other>`` for values it does not list) or nothing (a
string with too many values to be a category). Buckets are kept from version to version, so the
next run counts its rows into the same buckets during the pass it makes anyway.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

PROFILE_KEY = "meshlake.profile"
FORMAT = 1
NULL = "<null>"
OTHER = "<other>"

Kind = Literal["numeric", "categorical", "many_values"]


@dataclass(frozen=True)
class ColumnProfile:
    kind: Kind
    shares: dict[str, float] = field(default_factory=dict)
    edges: tuple[float, ...] = ()

    @property
    def categories(self) -> list[str]:
        """The listed categories (not ``<null>`` or ``<other>``), in a stable order."""
        return sorted(key for key in self.shares if key not in (NULL, OTHER))


@dataclass(frozen=True)
class Profile:
    rows: int
    columns: dict[str, ColumnProfile] = field(default_factory=dict)

    def to_metadata(self) -> str:
        """The commit's ``userMetadata``: one JSON object under a key naming what it is."""
        columns = {
            name: {"kind": column.kind, "edges": list(column.edges), "shares": column.shares}
            for name, column in sorted(self.columns.items())
        }
        body = {"format": FORMAT, "rows": self.rows, "columns": columns}
        return json.dumps({PROFILE_KEY: body}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_metadata(cls, text: str | None) -> Profile | None:
        """The profile in a commit's ``userMetadata``; None when absent or not meshlake's."""
        if not text:
            return None
        try:
            body: Any = json.loads(text)[PROFILE_KEY]
            if body["format"] != FORMAT:
                return None
            columns = {
                str(name): ColumnProfile(
                    kind=column["kind"],
                    shares={str(key): float(share) for key, share in column["shares"].items()},
                    edges=tuple(float(edge) for edge in column["edges"]),
                )
                for name, column in body["columns"].items()
                if column["kind"] in ("numeric", "categorical", "many_values")
            }
            return cls(rows=int(body["rows"]), columns=columns)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
