"""Raw drops: synthetic files written into a zone's raw area the way an ingestion job would.

Each raw source names a generator (``generate(scale, rng)`` yielding dict rows). Files are written to a
fresh folder and swapped in, so a reader never sees a half-written drop; on an object store the drop
is one object, and one PUT replaces it whole.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pyspark.sql import DataFrame, SparkSession

from meshlake.platform._errors import ConfigurationError, MeshlakeError
from meshlake.platform._loading import load_module
from meshlake.platform._locations import is_uri, raw_location
from meshlake.platform._storage import drop_files, filesystem, is_object_store, join
from meshlake.platform.specs import Mesh, RawSourceSpec
from meshlake.platform.specs._types import ddl_column_names


@dataclass(frozen=True)
class RawDrop:
    source_id: str
    location: str
    rows: int
    seconds: float


def raw_source_location(mesh: Mesh, source: RawSourceSpec, state_home: Path) -> str:
    zone = mesh.zones[source.domain.landing_zone]
    return raw_location(zone, source.domain.name, source.source.name, state_home)


def has_drop(location: str) -> bool:
    if is_object_store(location):
        return bool(drop_files(location))
    return not is_uri(location) and any(Path(location).glob("part-*"))


def generate_raw(
    mesh: Mesh,
    state_home: Path,
    scale: float,
    seed: int,
    only: Iterable[str] | None = None,
    progress: Callable[[RawDrop], None] | None = None,
) -> list[RawDrop]:
    """Run every raw source's generator (or those in ``only``) and drop its file."""
    wanted = set(only) if only is not None else None
    drops = []
    for source_id, source in sorted(mesh.raw_sources.items()):
        if wanted is not None and source_id not in wanted:
            continue
        drop = _drop(source, raw_source_location(mesh, source, state_home), scale, seed)
        drops.append(drop)
        if progress is not None:
            progress(drop)
    return drops


def read_raw(spark: SparkSession, source: RawSourceSpec, location: str) -> DataFrame:
    """Read a raw drop with the schema its source declares (never inferred: drops drift)."""
    reader = spark.read.schema(source.source.schema_ddl)
    if source.source.format == "csv":
        return reader.option("header", "true").option("mode", "FAILFAST").csv(location)
    return reader.option("mode", "FAILFAST").json(location)


def _drop(source: RawSourceSpec, location: str, scale: float, seed: int) -> RawDrop:
    if is_uri(location) and not is_object_store(location):
        raise ConfigurationError(
            f"raw source {source.source.id}: synthetic drops go to a local folder or an object "
            f"store, not {location}"
        )
    generator_file = source.generator_file
    if generator_file is None:
        raise MeshlakeError(
            f"raw source {source.source.id} has no generator; drop its files into {location} yourself"
        )
    module = load_module(
        generator_file, f"meshlake_generators.{source.domain.name}.{source.source.name}"
    )
    generate = getattr(module, "generate", None)
    if not callable(generate):
        raise MeshlakeError(f"{generator_file}: defines no generate(scale, rng) function")
    # One stable seed per source, so adding a source does not change the others' data.
    rng = random.Random(seed * 1_000_003 + zlib.crc32(source.source.id.encode()))
    started = time.perf_counter()
    if is_object_store(location):
        rows = _upload(generate(scale, rng), location, source)
        return RawDrop(source.source.id, location, rows, time.perf_counter() - started)
    target = Path(location)
    staging = target.with_name(f".{target.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    rows = _write(generate(scale, rng), staging, source)
    previous = target.with_name(f".{target.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)
    return RawDrop(source.source.id, location, rows, time.perf_counter() - started)


def _file_name(source: RawSourceSpec) -> str:
    return "part-00000.csv" if source.source.format == "csv" else "part-00000.jsonl"


def _write(rows: Iterable[dict[str, Any]], folder: Path, source: RawSourceSpec) -> int:
    with (folder / _file_name(source)).open("w", newline="", encoding="utf-8") as handle:
        return _write_rows(rows, handle, source)


def _upload(rows: Iterable[dict[str, Any]], location: str, source: RawSourceSpec) -> int:
    """The drop as one object, written in memory first: a failed generator uploads nothing."""
    text = io.StringIO(newline="")
    count = _write_rows(rows, text, source)
    fs, folder = filesystem(location)
    name = _file_name(source)
    with fs.open_output_stream(join(folder, name)) as out:
        out.write(text.getvalue().encode("utf-8"))
    for stale in drop_files(location):
        if stale.base_name != name:
            fs.delete_file(stale.path)
    return count


def _write_rows(rows: Iterable[dict[str, Any]], handle: TextIO, source: RawSourceSpec) -> int:
    columns = ddl_column_names(source.source.schema_ddl)
    count = 0
    if source.source.format == "csv":
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
    for row in rows:
        handle.write(json.dumps(row, default=str, separators=(",", ":")))
        handle.write("\n")
        count += 1
    return count
