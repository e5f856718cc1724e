"""The shipped business glossary: a YAML file of terms, registered by `meshlake governance sync`.

The file is ``infra/landing-zones/governance/glossary.yaml`` in the project (the governance zone's
folder): a ``terms`` list of ``{name, definition, columns}``, each column a contract column
reference ``domain.product.port.column``. Problems name the file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from pydantic import BaseModel, Field

from meshlake.governance.api._glossary_models import ColumnRef
from meshlake.platform.specs import GLOSSARY_FILE, SpecError, read_glossary

__all__ = ["GLOSSARY_FILE", "GlossaryEntry", "load_glossary", "sync_glossary"]


class GlossaryEntry(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^/]+$")
    definition: str = Field(min_length=1, max_length=5000)
    columns: list[ColumnRef] = []


class GlossaryFile(BaseModel):
    terms: list[GlossaryEntry]


class _Client(Protocol):
    def request(
        self, method: str, path: str, json: object = None, params: object = None
    ) -> object: ...


def load_glossary(path: Path) -> list[GlossaryEntry]:
    """The terms in ``path``; raises SpecError listing every problem, each with its line."""
    glossary, _, problems = read_glossary(path, str(path), GlossaryFile)
    if problems or glossary is None:
        raise SpecError(problems)
    return glossary.terms


def sync_glossary(client: _Client, project: Path) -> list[str]:
    """Register every term of the project's glossary file (none if it has none); their names."""
    path = project / GLOSSARY_FILE
    if not path.is_file():
        return []
    terms = load_glossary(path)
    for term in terms:
        client.request(
            "PUT",
            f"/api/v1/glossary/{quote(term.name, safe='')}",
            {"definition": term.definition, "columns": term.columns},
        )
    return [term.name for term in terms]
