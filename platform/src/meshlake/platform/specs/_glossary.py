"""The business glossary file, checked with the specs: its shape, and that its columns exist.

The file is ``infra/landing-zones/governance/glossary.yaml`` (the governance zone keeps it): a
``terms`` list of ``{name, definition, columns}``, each column a contract column reference
``domain.product.port.column``. The governance service registers it; checking it here means a typo
is found by ``meshlake validate``, not by a failed sync after the products were published.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meshlake.platform.specs._mesh import Mesh
from meshlake.platform.specs._problems import Problem, problems_from_validation
from meshlake.platform.specs._yaml import YamlSyntaxError, load_located_yaml

GLOSSARY_FILE = Path("infra") / "landing-zones" / "governance" / "glossary.yaml"


class _Term(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^/]+$")
    definition: str = Field(min_length=1, max_length=5000)
    columns: list[str] = Field(default=[], max_length=1000)


class _Glossary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[_Term]


def glossary_problems(root: Path, mesh: Mesh | None) -> tuple[int, list[Problem]]:
    """(files checked, problems) of the project's glossary file; (0, []) when it has none.

    Column references are checked against ``mesh`` when it loaded (each names an output port's
    contract column)."""
    path = root / GLOSSARY_FILE
    if not path.is_file():
        return 0, []
    rel = str(GLOSSARY_FILE)
    try:
        document = load_located_yaml(path)
    except YamlSyntaxError as exc:
        return 1, [Problem(rel, exc.line, "", str(exc))]
    try:
        glossary = _Glossary.model_validate(document.data)
    except ValidationError as exc:
        return 1, problems_from_validation(exc, document, rel, _Glossary)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, term in enumerate(glossary.terms):
        if term.name in seen:
            problems.append(
                Problem(
                    rel,
                    document.line_of(("terms", index, "name")),
                    f"terms[{index}].name",
                    f"{term.name!r} is already defined by terms[{seen[term.name]}]",
                )
            )
        seen.setdefault(term.name, index)
        if mesh is None:
            continue
        for position, ref in enumerate(term.columns):
            message = _column_problem(mesh, ref)
            if message:
                path_ = ("terms", index, "columns", position)
                problems.append(
                    Problem(
                        rel,
                        document.line_of(path_),
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
