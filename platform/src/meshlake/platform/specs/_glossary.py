"""The business glossary file, checked with the specs: its shape, and that its columns exist.

The file is ``infra/landing-zones/governance/glossary.yaml`` (the governance zone keeps it): a
``terms`` list of ``{name, definition, columns}``, each column a contract column reference
``domain.product.port.column``. The governance service registers it; checking it here means a typo
is found by ``meshlake validate``, not by a failed sync after the products were published.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meshlake.platform.specs._mesh import Mesh
from meshlake.platform.specs._problems import Problem, problems_from_validation
from meshlake.platform.specs._yaml import LocatedYaml, YamlSyntaxError, load_located_yaml

GLOSSARY_FILE = Path("infra") / "landing-zones" / "governance" / "glossary.yaml"


class _Term(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^/]+$")
    definition: str = Field(min_length=1, max_length=5000)
    columns: list[str] = Field(default=[], max_length=1000)


class _Glossary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[_Term]


GlossaryModel = TypeVar("GlossaryModel", bound=BaseModel)


def read_glossary(
    path: Path, where: str, model: type[GlossaryModel]
) -> tuple[GlossaryModel | None, LocatedYaml | None, list[Problem]]:
    """The glossary file at ``path`` read into ``model`` (a pydantic model with a ``terms`` list
    of items with a ``name``), its located document, and the problems named with ``where``: YAML
    syntax, shape, and a term defined twice. One reading for ``meshlake validate`` and for the
    governance sync, which brings its own model (its column references are checked there)."""
    try:
        document = load_located_yaml(path)
    except YamlSyntaxError as exc:
        return None, None, [Problem(where, exc.line, "", str(exc))]
    try:
        glossary = model.model_validate(document.data)
    except ValidationError as exc:
        return None, document, problems_from_validation(exc, document, where, model)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, term in enumerate(glossary.terms):  # type: ignore[attr-defined]
        if term.name in seen:
            problems.append(
                Problem(
                    where,
                    document.line_of(("terms", index, "name")),
                    f"terms[{index}].name",
                    f"{term.name!r} is already defined by terms[{seen[term.name]}]",
                )
            )
        seen.setdefault(term.name, index)
    return glossary, document, problems


def glossary_problems(root: Path, mesh: Mesh | None) -> tuple[int, list[Problem]]:
    """(files checked, problems) of the project's glossary file; (0, []) when it has none.

    Column references are checked against ``mesh`` when it loaded (each names an output port's
    contract column)."""
    path = root / GLOSSARY_FILE
    if not path.is_file():
        return 0, []
    rel = str(GLOSSARY_FILE)
    glossary, document, problems = read_glossary(path, rel, _Glossary)
    if glossary is None or document is None or mesh is None:
        return 1, problems
    for index, term in enumerate(glossary.terms):
        for position, ref in enumerate(term.columns):
            message = _column_problem(mesh, ref)
            if message:
                problems.append(
                    Problem(
                        rel,
                        document.line_of(("terms", index, "columns", position)),
                        f"terms[{index}].columns[{position}]",
                        message,
                    )
                )
    return 1, problems


def _column_problem(mesh: Mesh, ref: str) -> str | None:
    parts = ref.split(".")
    if len(parts) != 4 or not all(parts):
        return f"{ref!r} is not a column reference domain.product.port.column"
    domain, product, port, column = parts
    by_name = {str(key): value for key, value in mesh.products.items()}
    spec = by_name.get(f"{domain}.{product}")
    if spec is None:
        known = ", ".join(sorted(str(r) for r in mesh.products))
        return f"{ref!r}: no product {domain}.{product} in the mesh (products: {known})"
    if port not in spec.ports:
        ports = ", ".join(sorted(spec.ports))
        return f"{ref!r}: product {domain}.{product} has no output port {port!r} (ports: {ports})"
    names = [prop.name for prop in spec.ports[port].contract.columns]
    if column not in names:
        return f"{ref!r}: the contract of {domain}.{product}.{port} has no column {column!r}"
    return None
