"""One writer per product on object storage: a lease that a second, concurrent run is refused by.

Spark's Delta on S3 has a single-driver log store only (``S3SingleDriverLogStore``): two Spark
drivers committing the same version of a table at the same moment can overwrite each other's log
entry, and a commit is lost without an error. (delta-rs commits with S3's put-if-absent and is
safe; the DuckDB engine uses it.) So a run whose product lives on an object store first takes the
product's lease, and a second run of the product fails before it writes anything, naming the run
that holds it. Local folders keep the per-machine file lock of ``_publish``.

The lease is a small Delta table at ``<zone root>/_leases/<domain>/<product>`` (``_leases`` cannot
clash with a domain name), written by delta-rs: each acquisition and release is one commit, made
with put-if-absent and no retry, so of two runs taking the lease at once exactly one commit lands.
A lease a killed run left behind expires after ``MESHLAKE_WRITER_LEASE_SECONDS`` (an hour).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, Schema
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import CommitProperties, create_table_with_add_actions

from meshlake.platform._errors import MeshlakeError
from meshlake.platform._locations import zone_root
from meshlake.platform._storage import StorageSettings, is_object_store, storage_options
from meshlake.platform.specs import LandingZone

log = logging.getLogger(__name__)

LEASE_AREA = "_leases"
_SCHEMA = pa.schema([pa.field("holder", pa.string())])
_CHECKPOINT_EVERY = 100
"""Versions between checkpoints of a lease table, so that opening it stays one small read."""
_ATTEMPTS = 3


class WriterBusy(MeshlakeError):
    """Another run holds the product's writer lease: this run writes nothing."""

    def __init__(self, product: str, lease: str, holder: dict[str, Any]) -> None:
        self.product = product
        self.lease = lease
        self.holder = holder
        since = _when(holder.get("since"))
        expires = _when(holder.get("expires"))
        super().__init__(
            f"{product} is being published by another run ({holder.get('run_id')} on "
            f"{holder.get('host')}, pid {holder.get('pid')}, since {since}); its zone stores "
            "data on an object store, where two writers of one Delta table can overwrite each "
            "other's commit, so this run stopped before writing. Run it again when that run has "
            f"ended; if it was killed, its lease ({lease}) expires at {expires}."
        )


def lease_location(zone: LandingZone, product: str, state_home: Path) -> str:
    """Where the writer lease of ``product`` (``domain.name``) lives in its zone."""
    domain, _, name = product.partition(".")
    return f"{zone_root(zone, state_home)}/{LEASE_AREA}/{domain}/{name}"


@contextmanager
def writer_lease(zone: LandingZone, product: str, run_id: str, state_home: Path) -> Iterator[None]:
    """Hold ``product``'s writer lease for the block when its zone is on an object store
    (nothing to do for a local zone); ``WriterBusy`` when another run holds it."""
    root = zone_root(zone, state_home)
    if not is_object_store(root):
        yield
        return
    location = lease_location(zone, product, state_home)
    acquire(location, product, run_id, StorageSettings().writer_lease_seconds)
    try:
        yield
    finally:
        release(location, run_id)


def acquire(location: str, product: str, run_id: str, seconds: float) -> None:
    """Take the lease for ``seconds``, or raise ``WriterBusy`` naming its holder."""
    holder: dict[str, Any] = {}
    for _ in range(_ATTEMPTS):
        table = _open(location)
        holder = _holder(table)
        now = time.time()
        if _held(holder, now) and holder.get("run_id") != run_id:
            raise WriterBusy(product, location, holder)
        mine = {
            "state": "held",
            "run_id": run_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": now,
            "expires": now + seconds,
        }
        try:
            _commit(table, mine)
            return
        except CommitFailedError:
            continue  # another run committed first: look at the lease again
    raise WriterBusy(product, location, holder)


def release(location: str, run_id: str) -> None:
    """Give the lease back if this run still holds it (a failure is logged: the lease expires)."""
    try:
        table = _open(location)
        holder = _holder(table)
        if holder.get("state") == "held" and holder.get("run_id") == run_id:
            _commit(table, {"state": "released", "run_id": run_id, "since": time.time()})
    except (DeltaError, OSError) as exc:
        log.warning(
            "could not release the writer lease %s (it expires by itself): %s", location, exc
        )


def holder_of(location: str) -> dict[str, Any]:
    """The lease's last entry (``state`` held or released, ``run_id``, ``expires`` ...)."""
    return _holder(_open(location))


def _open(location: str) -> DeltaTable:
    options = storage_options(location)
    try:
        return DeltaTable(location, storage_options=options)
    except TableNotFoundError:
        pass
    # Another run may create it first; then this create fails and the open below finds it.
    with contextlib.suppress(DeltaError):
        create_table_with_add_actions(
            location,
            Schema.from_arrow(_SCHEMA),
            [],
            mode="error",
            commit_properties=_properties({"state": "released"}),
            storage_options=options,
        )
    return DeltaTable(location, storage_options=options)


def _holder(table: DeltaTable) -> dict[str, Any]:
    history = table.history(1)
    metadata = history[0].get("userMetadata") if history else None
    try:
        found = json.loads(metadata) if isinstance(metadata, str) else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _held(holder: dict[str, Any], now: float) -> bool:
    expires = holder.get("expires")
    return holder.get("state") == "held" and isinstance(expires, int | float) and expires > now


def _commit(table: DeltaTable, entry: dict[str, Any]) -> None:
    table.create_write_transaction([], "append", _SCHEMA, commit_properties=_properties(entry))
    if table.version() % _CHECKPOINT_EVERY == 0:
        table.create_checkpoint()


def _properties(entry: dict[str, Any]) -> CommitProperties:
    # No retry: a commit at a version another run took first must fail, not land after it.
    return CommitProperties(
        custom_metadata={"userMetadata": json.dumps(entry, separators=(",", ":"))},
        max_commit_retries=0,
    )


def _when(stamp: object) -> str:
    if not isinstance(stamp, int | float):
        return "an unknown time"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
