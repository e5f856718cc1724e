"""``meshlake product new``: descriptor, contract, transform skeleton and agreement requests.

The files are written, then the whole mesh is validated: when the new product does not validate
the files are removed again and the problems are reported, so a scaffold never leaves a mesh that
`meshlake validate` refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from meshlake.platform._ids import ProductRef
from meshlake.platform.scaffold._common import (
    DOMAINS_DIR,
    Scaffolded,
    ScaffoldError,
    dump_yaml,
    write_new,
)
from meshlake.platform.scaffold._contract import derived_contract, imported_contract
from meshlake.platform.scaffold._inputs import Column, Input, resolve_inputs
from meshlake.platform.scaffold._transform import (
    MISSING,
    Selected,
    python_transform,
    sql_transform,
)
from meshlake.platform.specs import Mesh, SpecError, load_mesh, spark_type, validate_mesh

AGREEMENT_DAYS = 365  # within the sharing policies' limit for internal data
DEFAULT_PURPOSE = "analytics"


@dataclass(frozen=True)
class ProductRequest:
    """What ``meshlake product new`` was asked for."""

    product: str
    ports: list[str]
    language: str = "sql"  # or "python"
    contract_file: Path | None = None
    purpose: str = DEFAULT_PURPOSE


def new_product(root: Path, request: ProductRequest, *, today: date | None = None) -> Scaffolded:
    """Scaffold ``request.product`` under ``domains/``; refuse without writing on bad input."""
    ref = _product_ref(request.product)
    mesh = _mesh(root)
    if ref.domain not in mesh.domains:
        known = ", ".join(sorted(mesh.domains)) or "none"
        raise ScaffoldError(
            "DOMAIN.PRODUCT",
            f"no domain {ref.domain!r} (known: {known}); create it with `meshlake domain new "
            f"{ref.domain} --zone ZONE --owner EMAIL`",
        )
    folder = root / DOMAINS_DIR / ref.domain / "products" / ref.name
    if folder.exists():
        raise ScaffoldError("DOMAIN.PRODUCT", f"product {ref} exists already ({folder})")
    if request.language not in ("sql", "python"):
        raise ScaffoldError("--sql/--python", f"unknown transform language {request.language!r}")
    inputs = resolve_inputs(mesh, ref.domain, request.ports)
    selected = _select(inputs)
    result = Scaffolded()
    if request.contract_file is not None:
        contract_text, properties = imported_contract(request.contract_file, ref)
        selected = _match_imported(properties, selected, result)
    else:
        contract_text = derived_contract(ref, mesh.domains[ref.domain], selected)
    transform_name = "transform.sql" if request.language == "sql" else "transform.py"
    transform = (
        sql_transform(ref, inputs, selected)
        if request.language == "sql"
        else python_transform(ref, inputs, selected)
    )
    files = {
        folder / "product.yaml": _descriptor(
            ref, mesh, inputs, transform_name, _version(contract_text)
        ),
        folder / "contract.yaml": contract_text,
        folder / transform_name: transform,
    }
    when = today or date.today()
    for item in inputs:
        if item.cross_domain:
            file, text = _agreement(root, ref, inputs[0], item, selected, request.purpose, when)
            files[file] = text
            result.notes.append(
                f"{file.relative_to(root)} is a request: an owner of {item.domain} "
                f"({', '.join(item.owners) or 'see its domain.yaml'}) approves it by adding "
                "approvedBy in review; until then governance holds it as requested"
            )
    _write_checked(root, ref, files)
    result.written.extend(files)
    left_out = sorted(
        f"{item.name}.{column.name}" for item in inputs for column in _personal_left_out(item)
    )
    if left_out:
        result.notes.append(
            f"personal columns of other domains left out: {', '.join(left_out)} "
            "(to read them, add them masked, or with a legalBasis, to the agreement)"
        )
    unclassified = [column.name for _, column in selected if column.classification is None]
    if unclassified and request.contract_file is None:
        result.notes.append(
            f"classified internal for want of a classification upstream: {', '.join(unclassified)}; "
            "check them in contract.yaml"
        )
    result.next_steps += [
        "meshlake validate",
        f"meshlake materialize {ref} --upstream   (or: meshlake run {ref})",
    ]
    return result


def _product_ref(text: str) -> ProductRef:
    try:
        return ProductRef.parse(text)
    except ValueError as exc:
        raise ScaffoldError("DOMAIN.PRODUCT", f"{exc} (lower_snake_case names)") from None


def _mesh(root: Path) -> Mesh:
    try:
        return load_mesh(root)
    except SpecError as exc:
        raise ScaffoldError(
            "mesh", f"the specs do not validate; fix them first (`meshlake validate`):\n{exc}"
        ) from None


def _select(inputs: list[Input]) -> Selected:
    """The columns the new product takes: all of the first input's, then those of each other
    input keyed like the first (a one-to-one join); personal data of other domains left out."""
    first = inputs[0]
    chosen: Selected = [(first, column) for column in _readable(first)]
    names = {column.name for _, column in chosen}
    for item in inputs[1:]:
        if not _joins(first, item):
            continue
        for column in _readable(item):
            if column.name not in names:
                chosen.append((item, column))
                names.add(column.name)
    return chosen


def _joins(first: Input, other: Input) -> bool:
    """One row of ``other`` per row of ``first``: both keyed alike, so the key stays unique."""
    return bool(first.primary_key) and set(other.primary_key) == set(first.primary_key)


def _readable(item: Input) -> list[Column]:
    if not item.cross_domain:
        return item.columns
    return [column for column in item.columns if not column.personal]


def _personal_left_out(item: Input) -> list[Column]:
    return [column for column in item.columns if item.cross_domain and column.personal]


def _match_imported(
    properties: list[dict[str, Any]], selected: Selected, result: Scaffolded
) -> Selected:
    """Imported contract: the transform selects its columns, those the inputs lack as NULLs."""
    by_name = {column.name: (item, column) for item, column in selected}
    wanted: Selected = []
    missing: list[str] = []
    for prop in properties:
        found = by_name.get(prop["name"])
        if found is None:
            missing.append(prop["name"])
            column = Column(
                name=prop["name"],
                logical_type=prop.get("logicalType"),
                physical_type=spark_type(prop.get("logicalType"), prop.get("physicalType")),
                description=prop.get("description"),
                classification=prop.get("classification"),
                required=bool(prop.get("required")),
                unique=False,
            )
            wanted.append((MISSING, column))
        else:
            wanted.append(found)
    if missing:
        result.notes.append(
            f"no input has {', '.join(missing)}: the transform sets them NULL; derive them there"
        )
    return wanted


def _version(contract_text: str) -> str:
    """The contract's version: the output port's version must equal it."""
    import yaml

    return str(yaml.safe_load(contract_text)["version"])


def _descriptor(
    ref: ProductRef, mesh: Mesh, inputs: list[Input], transform: str, version: str
) -> str:
    domain = mesh.domains[ref.domain]
    source_aligned = all(item.raw for item in inputs)
    owners = [member for member in domain.team.members if member.role == "owner"]
    data: dict[str, Any] = {
        "apiVersion": "v1.0.0",
        "kind": "DataProduct",
        "id": str(ref),
        "name": ref.name,
        "version": "1.0.0",
        "status": "active",
        "domain": ref.domain,
        "description": {
            "purpose": f"{ref.name.replace('_', ' ').capitalize()}: say what it is for and who uses it.",
            "usage": "Say how to read it: the grain and the keys to join on.",
            "limitations": "Say what it does not promise.",
        },
        "team": {
            "name": domain.team.name or f"{ref.domain}-team",
            "members": [
                {"username": member.username, "role": "owner"}
                | ({"name": member.name} if member.name else {})
                for member in owners
            ],
        },
        "tags": [ref.domain, "source-aligned" if source_aligned else "consumer-aligned"],
        "inputPorts": [
            {"name": item.name, "version": item.version, "contractId": item.contract_id}
            for item in inputs
        ],
        "outputPorts": [
            {
                "name": ref.name,
                "version": version,
                "type": "delta",
                "description": f"The {ref.name} table.",
                "contractId": f"{ref}.{ref.name}",
            }
        ],
        "customProperties": [
            # bronze is the source-aligned tier: it may read only its own domain (policy).
            {"property": "tier", "value": "bronze" if source_aligned else "silver"},
            {"property": "transform", "value": transform},
            {"property": "schedule", "value": "0 6 * * *"},
        ],
    }
    header = (
        f"Data product {ref} (ODPS), created by `meshlake product new`. Fill in the description;\n"
        "contract.yaml promises the output port, the transform builds it."
    )
    return dump_yaml(data, header)


def _agreement(
    root: Path,
    ref: ProductRef,
    first: Input,
    item: Input,
    selected: Selected,
    purpose: str,
    today: date,
) -> tuple[Path, str]:
    """A request for the columns the transform reads of ``item`` (join keys included)."""
    columns = [column.name for owner, column in selected if owner is item]
    if item is not first and columns:
        columns = [key for key in first.primary_key if key not in columns] + columns
    if not columns:  # declared but not joined yet: ask for what may be delivered plain
        columns = [column.name for column in _readable(item)]
    if not columns:
        raise ScaffoldError(
            "--from", f"{item.contract_id} has only personal columns; request them masked by hand"
        )
    name = _slug(f"{ref.domain}-{ref.name}-reads-{item.contract_id.rsplit('.', 1)[0]}")
    folder = root / DOMAINS_DIR / ref.domain / "agreements"
    file = folder / f"{name}.yaml"
    if file.exists():
        raise ScaffoldError("--from", f"agreement {file} exists already; reuse or rename it")
    data: dict[str, Any] = {
        "apiVersion": "meshlake/v1",
        "kind": "SharingAgreement",
        "name": name,
        "consumer": {"kind": "product", "id": str(ref)},
        "purpose": purpose,
        "start": today,
        "end": today + timedelta(days=AGREEMENT_DAYS - 1),
        "ports": [{"port": item.contract_id, "columns": columns}],
    }
    header = (
        f"REQUEST by {ref} to read {item.contract_id} of domain {item.domain}, created by\n"
        f"`meshlake product new`. An owner of {item.domain} approves it in review by adding\n"
        "`approvedBy: <their e-mail>`; columns lists what the transform reads."
    )
    return file, dump_yaml(data, header)


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return slug[:63].rstrip("-")


def _write_checked(root: Path, ref: ProductRef, files: dict[Path, str]) -> None:
    """Write ``files``; when the mesh then has problems in them, remove them again and refuse."""
    written: list[Path] = []
    try:
        for file, text in files.items():
            write_new(file, text)
            written.append(file)
        report = validate_mesh(root)
    except BaseException:
        _remove(root, ref, written)
        raise
    ours = {str(file.relative_to(root)) for file in files}
    problems = [
        problem
        for problem in [*report.problems, *report.agreement_problems, *report.check_problems]
        if problem.file in ours
    ]
    if problems:
        _remove(root, ref, written)
        listed = "\n".join(str(problem) for problem in problems)
        raise ScaffoldError(
            "DOMAIN.PRODUCT", f"the scaffold of {ref} does not validate; nothing written:\n{listed}"
        )


def _remove(root: Path, ref: ProductRef, written: list[Path]) -> None:
    for file in written:
        file.unlink(missing_ok=True)
    domain = root / DOMAINS_DIR / ref.domain
    for folder in (domain / "products" / ref.name, domain / "agreements"):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
