"""What the protocol needs from a shared port's Delta log: its schema as the share delivers it,
whether it keeps a change data feed, its commit times, and its changes (delta-rs, no Spark)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from meshlake.governance._errors import ConflictError
from meshlake.governance.services._delta_sharing._errors import SharingRequestError
from meshlake.governance.services._readable import ReadablePort
from meshlake.governance.services._sql import filtered
from meshlake.platform import storage_options

CDF_SETTING = "delta.enableChangeDataFeed"
CHANGE_TYPE = "_change_type"


def _open(port: ReadablePort, version: int | None = None) -> DeltaTable:
    try:
        return DeltaTable(
            port.location,
            version=port.version if version is None else version,
            storage_options=storage_options(port.location),
        )
    except DeltaError as exc:
        raise ConflictError(f"{port.port}: the Delta table cannot be read: {exc}") from None


@lru_cache(maxsize=256)
def _log_facts(location: str, version: int) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The schema (Delta's JSON) and configuration of one version of a table: fixed once
    committed, so kept. Every metadata and query request needs them, and replaying a Delta log
    costs milliseconds (more as the log grows)."""
    table = DeltaTable(location, version=version, storage_options=storage_options(location))
    return table.schema().to_json(), tuple(sorted(table.metadata().configuration.items()))


def _facts(port: ReadablePort, version: int) -> tuple[str, dict[str, str]]:
    try:
        schema, config = _log_facts(port.location, version)
    except DeltaError as exc:
        raise ConflictError(f"{port.port}: the Delta table cannot be read: {exc}") from None
    return schema, dict(config)


def schema_string(port: ReadablePort, version: int) -> str:
    """The table's schema (Delta's JSON) cut to the delivered columns, in the grant's order;
    masked columns nullable, since a masked non-string arrives as null."""
    fields = {field["name"]: field for field in json.loads(_facts(port, version)[0])["fields"]}
    chosen = []
    for name in port.grant.columns:
        field = dict(fields[name])
        if name in port.grant.masked:
            field["nullable"] = True
        chosen.append(field)
    return json.dumps({"type": "struct", "fields": chosen})


def configuration(port: ReadablePort) -> dict[str, str]:
    """The protocol's table configuration: whether a change data feed can be asked for."""
    config = _facts(port, port.version)[1]
    return {"enableChangeDataFeed": "true"} if config.get(CDF_SETTING) == "true" else {}


def commit_times(port: ReadablePort) -> dict[int, int]:
    """Commit time in ms of each version up to the published one."""
    times = {}
    for entry in _open(port).history():
        version = int(entry["version"])
        if version <= port.version and "timestamp" in entry:
            times[version] = int(entry["timestamp"])
    return times


def parse_timestamp(text: str, field: str) -> int:
    """An ISO 8601 time (``2026-12-04T09:00:00Z``) in ms since the epoch."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SharingRequestError(
            f"{field}: {text!r} is not an ISO 8601 time; write e.g. 2026-12-04T09:00:00Z"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1000)


def version_at(port: ReadablePort, text: str, field: str) -> int:
    """The newest published version committed at or before the time ``text``."""
    at = parse_timestamp(text, field)
    before = [version for version, ms in commit_times(port).items() if ms <= at]
    if not before:
        raise SharingRequestError(
            f"{field}: {text} is before the first version of {port.port}; give a later time"
        )
    return max(before)


def version_from(port: ReadablePort, text: str, field: str) -> int:
    """The oldest published version committed at or after the time ``text``."""
    at = parse_timestamp(text, field)
    after = [version for version, ms in commit_times(port).items() if ms >= at]
    if not after:
        raise SharingRequestError(
            f"{field}: no published version of {port.port} was committed at or after {text}; "
            f"the newest is {port.version}"
        )
    return min(after)


def changes(port: ReadablePort, start: int, end: int) -> dict[int, pa.Table]:
    """The change rows of versions ``start``..``end`` by version, each cut, filtered and masked
    as the grant says, keeping ``_change_type``."""
    try:
        reader = _open(port).load_cdf(starting_version=start, ending_version=end)
        raw = _plain_types(pa.RecordBatchReader.from_stream(reader).read_all())
    except DeltaError as exc:
        raise SharingRequestError(
            f"{port.port}: changes {start} to {end} cannot be read ({exc}); ask from a version at "
            "or after the change data feed was switched on"
        ) from None
    grant = port.grant
    with_type = type(grant)(
        grant.relation, (*grant.columns, CHANGE_TYPE), grant.masked, grant.row_filter
    )
    by_version: dict[int, pa.Table] = {}
    versions: list[int] = raw["_commit_version"].to_pylist() if raw.num_rows else []
    for version in sorted(set(versions)):
        rows = raw.filter(pc.equal(raw["_commit_version"], version))
        by_version[int(version)] = filtered(rows, with_type)
    return by_version


def _plain_types(table: pa.Table) -> pa.Table:
    """``table`` with view types (which delta-rs's change feed returns, and Arrow's filter and
    take kernels do not all take) cast to their plain kind."""
    fields = []
    for field in table.schema:
        if pa.types.is_string_view(field.type):
            field = field.with_type(pa.string())
        elif pa.types.is_binary_view(field.type):
            field = field.with_type(pa.binary())
        fields.append(field)
    return table.cast(pa.schema(fields))
