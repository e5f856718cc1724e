"""What a product may read of another domain's port: the terms of its active sharing agreement.

Governance answers, per cross-domain input port, with the agreement that covers the read (its
columns, its masked columns and its row scope) or with why none does; the publish path asks before
anything is read, so a product without an agreement fails before it runs. The engine applies the
terms as it reads the input (``meshlake.platform._delivered``); this module imports no Spark, since
the governance client uses it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshlake.platform._errors import MeshlakeError


class AgreementMissing(MeshlakeError):
    """A product reads another domain's port without an active sharing agreement."""


@dataclass(frozen=True)
class ReadTerms:
    """What an active agreement lets one consumer read of one port."""

    agreement: str
    port: str
    columns: tuple[str, ...]
    masked: tuple[str, ...] = ()
    rows: Mapping[str, Sequence[Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ReadTerms:
        return cls(
            agreement=str(body["agreement"]),
            port=str(body["port"]),
            columns=tuple(body["columns"]),
            masked=tuple(body.get("masked", ())),
            rows={str(column): list(values) for column, values in body.get("rows", {}).items()},
        )
