"""Raw drops: synthetic files written into a zone's raw area the way an ingestion job would.

Each raw source names a generator (``generate(scale, rng)`` yielding dict rows). Files are written to a
fresh folder and swapped in, so a reader never sees a half-written drop.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from meshlake.platform._errors import ConfigurationError, MeshlakeError
from meshlake.platform._loading import load_module
from meshlake.platform._locations import is_uri, raw_location
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
    if is_uri(location):
        raise ConfigurationError(
            f"raw source {source.source.id}: synthetic drops go to local storage only, not {location}"
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


def _write(rows: Iterable[dict[str, Any]], folder: Path, source: RawSourceSpec) -> int:
    columns = ddl_column_names(source.source.schema_ddl)
    count = 0
    if source.source.format == "csv":
        with (folder / "part-00000.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="raise")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
                count += 1
        return count
    with (folder / "part-00000.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, default=str, separators=(",", ":")))
            handle.write("\n")
            count += 1
    return count
