"""What one Delta version holds, read from the table's own log with delta-rs (never Spark).

Governance records a version only after reading it here: that the version exists, which run
committed it (the ``meshlake.run_id`` of the commit's ``userMetadata``), how many rows the table
has at that version (the add actions' ``numRecords``) and its schema. The client's claims are
compared with these facts, never stored instead of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder
from deltalake.exceptions import DeltaError, TableNotFoundError

from meshlake.governance._errors import ConflictError
from meshlake.governance.services._schemas import FoundColumn, TypeSyntaxError, delta_columns
from meshlake.platform import storage_options

RUN_ID_KEY = "meshlake.run_id"


class DeltaLogError(ConflictError):
    """The Delta log does not hold what a record claims (409)."""


@dataclass(frozen=True)
class VersionFacts:
    """One version of a Delta table as its log tells it."""

    location: str
    version: int
    run_id: str | None
    """``meshlake.run_id`` of the commit's userMetadata; None when the commit carries none."""
    row_count: int
    columns: list[FoundColumn]


def read_version(location: str, version: int) -> VersionFacts:
    """The facts of ``version`` of the table at ``location``; DeltaLogError when it has none."""
    try:
        table = DeltaTable(location, storage_options=storage_options(location))
    except TableNotFoundError:
        raise DeltaLogError(f"no Delta table at {location}") from None
    except DeltaError as exc:
        raise DeltaLogError(f"the Delta log at {location} cannot be read: {exc}") from None
    latest = table.version()
    if version > latest:
        raise DeltaLogError(
            f"version {version} is not in the Delta log at {location}: its latest is {latest}"
        )
    try:
        # History is newest first; version is at most a few commits back when it is recorded.
        commit = next(
            (
                item
                for item in table.history(latest - version + 1)
                if item.get("version") == version
            ),
            None,
        )
        if commit is None:
            raise DeltaLogError(
                f"the commit of version {version} is no longer in the Delta log at {location}"
            )
        if version != latest:
            table.load_as_version(version)
        columns = delta_columns(json.loads(table.schema().to_json()))
        rows = _row_count(table)
    except (DeltaError, TypeSyntaxError) as exc:
        raise DeltaLogError(
            f"version {version} of the Delta table at {location} cannot be read: {exc}"
        ) from None
    return VersionFacts(location, version, run_id_of(commit.get("userMetadata")), rows, columns)


def run_id_of(user_metadata: Any) -> str | None:
    """The run id in a commit's ``userMetadata`` (a JSON object string); None if it has none."""
    if not isinstance(user_metadata, str):
        return None
    try:
        document = json.loads(user_metadata)
    except ValueError:
        return None
    value = document.get(RUN_ID_KEY) if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def row_count(table: DeltaTable) -> int:
    """Rows of ``table`` at its loaded version, read from the log as ``read_version`` reads them."""
    return _row_count(table)


def _row_count(table: DeltaTable) -> int:
    """Rows at the loaded version: the add actions' ``numRecords`` (no file is read), else, when
    a file has no statistics or rows are deleted by deletion vectors, a count over the files."""
    features = table.protocol().reader_features or []
    adds = table.get_add_actions(flatten=True)
    if adds.num_rows == 0:
        return 0
    if "deletionVectors" not in features and "num_records" in adds.column_names:
        counts = pa.chunked_array(adds.column("num_records"))
        if counts.null_count == 0:
            return sum(counts.to_pylist())
    result = pa.table(QueryBuilder().register("t", table).execute("SELECT count(*) AS n FROM t"))
    return int(result.column("n")[0].as_py())
