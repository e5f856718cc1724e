"""Quarantine tables in the catalog: registered with their port, their versions verified in the log.

A port whose contract has quarantine rules sets rows aside in ``<product>/_quarantine/<port>``.
The catalog lists that table under its port, labelled, with the port's classification, the columns
it masks and how long it keeps rows, so that whoever looks for a product's data also finds what
was held back, and how long it stays. Its versions are recorded as ports' are: only after reading
the table's own Delta log (the run's id in the commit, the row count, masked columns as text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import ConflictError
from meshlake.governance.api._models import QuarantineIn, RecordedPortIn
from meshlake.governance.db._tables import Dataset, QuarantineDataset, QuarantineVersion
from meshlake.governance.services._delta_log import RUN_ID_KEY, VersionFacts, read_version

FOLDER = "_quarantine"
META_COLUMNS = (
    ("_quarantine_rules", "string", "The quarantine rules the row broke, comma-separated."),
    ("_run_id", "string", "The run that set the row aside."),
    ("_quarantined_at", "timestamp", "When; rows older than the retention are deleted."),
)


def quarantine_ref(dataset: Dataset) -> str:
    """``domain.product._quarantine.port``: no port ref can look like it (a port name starts
    with a letter), and it sorts and reindexes with its product."""
    return f"{dataset.product.ref}.{FOLDER}.{dataset.name}"


def put_quarantine(session: Session, dataset: Dataset, body: QuarantineIn | None) -> None:
    """Register (or update) the port's quarantine table; a port that no longer quarantines loses
    it unless versions were recorded (its rows stay until their retention ends)."""
    quarantine = dataset.quarantine
    if body is None:
        if quarantine is not None and not quarantine.versions:
            dataset.quarantine = None
            session.flush()
        return
    if quarantine is None:
        quarantine = QuarantineDataset(
            ref=quarantine_ref(dataset),
            location=body.location,
            retention_days=body.retention_days,
            masked_columns=[],
        )
        dataset.quarantine = quarantine
    quarantine.location = body.location
    quarantine.retention_days = body.retention_days
    quarantine.masked_columns = list(body.masked_columns)
    session.flush()


@dataclass(frozen=True)
class Checked:
    """A quarantine version about to be recorded, with the facts its log gave."""

    quarantine: QuarantineDataset
    facts: VersionFacts


def check_versions(
    session: Session, datasets: dict[str, Dataset], items: list[RecordedPortIn], run_id: str
) -> tuple[list[Checked], list[str]]:
    """The quarantine versions of ``items`` still to record, and how any of them differs from
    its Delta log; 409 when a port has no quarantine table registered or the version is
    another run's."""
    new: list[Checked] = []
    problems: list[str] = []
    for item in items:
        if item.quarantine is None:
            continue
        dataset = datasets[item.port]
        quarantine = dataset.quarantine
        if quarantine is None:
            raise ConflictError(
                f"ports[{item.port}].quarantine: {dataset.ref} has no quarantine table in the "
                "catalog (its registered contract has no quarantine rule); register the product "
                "again (meshlake governance sync)"
            )
        version = item.quarantine.delta_version
        existing = session.scalar(
            select(QuarantineVersion).where(
                QuarantineVersion.quarantine_id == quarantine.id,
                QuarantineVersion.delta_version == version,
            )
        )
        if existing is not None:
            if existing.run_id == run_id:
                continue  # recorded already, by this run: idempotent
            raise ConflictError(
                f"{quarantine.ref} version {version} is already recorded (by run {existing.run_id})"
            )
        facts = read_version(quarantine.location, version)
        where = f"quarantine of port {item.port} ({quarantine.ref}) version {version}"
        problems += [
            f"{where}: {line}"
            for line in _mismatches(quarantine, item.quarantine.row_count, run_id, facts)
        ]
        new.append(Checked(quarantine, facts))
    return new, problems


def record(session: Session, checked: list[Checked], run_id: str, decision_id: int) -> None:
    for item in checked:
        session.add(
            QuarantineVersion(
                quarantine_id=item.quarantine.id,
                delta_version=item.facts.version,
                row_count=item.facts.row_count,
                run_id=run_id,
                decision_id=decision_id,
            )
        )
    session.flush()


def columns(quarantine: QuarantineDataset) -> list[dict[str, Any]]:
    """The table's columns: the port's, masked ones as text, then the quarantine's own."""
    masked = set(quarantine.masked_columns)
    found = [
        {
            "name": column.name,
            "type": "string" if column.name in masked else column.type,
            "classification": column.classification,
            "masked": column.name in masked,
        }
        for column in quarantine.dataset.columns
    ]
    found += [
        {"name": name, "type": kind, "classification": None, "masked": False}
        for name, kind, _ in META_COLUMNS
    ]
    return found


def _mismatches(
    quarantine: QuarantineDataset, row_count: int, run_id: str, facts: VersionFacts
) -> list[str]:
    problems = []
    if facts.run_id != run_id:
        problems.append(
            f"userMetadata {RUN_ID_KEY}: expected {run_id}, found "
            f"{facts.run_id or 'none'} in the commit"
        )
    if row_count != facts.row_count:
        problems.append(
            f"row_count: expected {row_count} (claimed), found {facts.row_count} in the Delta log"
        )
    types = {column.name: column.type for column in facts.columns}
    for name in quarantine.masked_columns:
        if name in types and types[name] != "string":
            problems.append(
                f"schema: {name}: expected string (masked), found {types[name]} in the Delta "
                "log: a classified column is held unmasked"
            )
    missing = [name for name, _, _ in META_COLUMNS if name not in types]
    if missing:
        problems.append(f"schema: {', '.join(missing)}: missing in the Delta log")
    return problems
