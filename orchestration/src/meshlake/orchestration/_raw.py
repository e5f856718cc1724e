"""Raw sources as observable source assets: each observation reports the drop's schema, when it
last changed and a data version, so the UI shows when a drop arrived instead of "never
materialized", and the freshness of the drop against what its readers promise.

Raw drops arrive by ingestion, not by Dagster; observing one reads only file names, sizes and times
(a listing of the prefix on an object store, with the zone's storage settings).
"""

# No `from __future__ import annotations`: Dagster reads the observe function's real type hints.

import hashlib
import warnings
from datetime import timedelta
from pathlib import Path

import dagster as dg

from meshlake.orchestration._keys import raw_key
from meshlake.orchestration._metadata import uri
from meshlake.platform import Settings, drop_files, is_uri, raw_location
from meshlake.platform.specs import Mesh, RawSourceSpec, ddl_columns, sla_duration

NO_DROP = "no drop yet"


def raw_source_asset(mesh: Mesh, source: RawSourceSpec, settings: Settings) -> dg.AssetsDefinition:
    """The raw source's observable asset, in its domain's group, owned by the domain's team."""
    zone = mesh.zones[source.domain.landing_zone]
    location = raw_location(zone, source.domain.name, source.source.name, settings.state_home())
    spec = dg.AssetSpec(
        key=raw_key(source),
        description=source.source.description,
        group_name=source.domain.name,
        kinds={source.source.format},
        owners=[f"team:{source.domain.team.name}"] if source.domain.team.name else None,
        freshness_policy=_freshness(mesh, source),
        metadata={
            "meshlake/raw_source": source.source.id,
            "dagster/column_schema": raw_schema(source),
            "dagster/uri": uri(location),
        },
    )

    def observe_drop() -> dg.ObserveResult:
        return observe(location)

    # The one decorator that takes a whole AssetSpec (owners, kinds, freshness) is marked beta.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        decorate = dg.multi_observable_source_asset(
            name=f"{source.domain.name}__raw__{source.source.name}", specs=[spec]
        )
    return decorate(observe_drop)


def raw_schema(source: RawSourceSpec) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=name, type=kind.lower())
            for name, kind in ddl_columns(source.source.schema_ddl)
        ]
    )


def observe(location: str) -> dg.ObserveResult:
    """The drop at ``location`` (a folder, or an object store's prefix) as it is now: its files,
    size, last change and a data version that changes when any file does."""
    if is_uri(location):
        try:
            stats = [
                (info.base_name, info.size or 0, info.mtime_ns or 0)
                for info in drop_files(location)
            ]
        except OSError as exc:  # no credentials here, or the store does not answer
            return dg.ObserveResult(
                metadata={"meshlake/drop": f"not listed at {location}: {exc}".splitlines()[0]}
            )
    else:
        stats = [
            (file.name, (stat := file.stat()).st_size, stat.st_mtime_ns)
            for file in sorted(Path(location).glob("part-*"))
        ]
    if not stats:
        return dg.ObserveResult(
            data_version=dg.DataVersion(NO_DROP), metadata={"meshlake/drop": NO_DROP}
        )
    fingerprint = hashlib.sha256(
        "\n".join(f"{name} {size} {mtime_ns}" for name, size, mtime_ns in stats).encode()
    ).hexdigest()[:16]
    return dg.ObserveResult(
        data_version=dg.DataVersion(fingerprint),
        metadata={
            "dagster/last_updated_timestamp": dg.MetadataValue.timestamp(
                max(mtime_ns for _, _, mtime_ns in stats) / 1e9
            ),
            "meshlake/files": len(stats),
            "meshlake/bytes": sum(size for _, size, _ in stats),
        },
    )


def _freshness(mesh: Mesh, source: RawSourceSpec) -> dg.FreshnessPolicy | None:
    """A drop is fresh while its readers can still keep their promise: the shortest latency SLA
    among the contracts of the products that read it."""
    latencies: list[timedelta] = [
        latency
        for product in mesh.products.values()
        if any(
            binding.raw is not None and binding.raw.source.id == source.source.id
            for binding in product.inputs
        )
        for port in product.ports.values()
        if (latency := sla_duration(port.contract, "latency")) is not None
        and latency > timedelta(0)
    ]
    if not latencies:
        return None
    shortest = min(latencies)
    return dg.FreshnessPolicy.time_window(fail_window=shortest, warn_window=shortest / 2)
