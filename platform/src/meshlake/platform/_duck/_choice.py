"""Which engine runs a product: ``engine`` in its customProperties, else its zone's ``engine``.

``spark`` and ``duckdb`` are taken as written (a product that DuckDB cannot run faithfully fails
with the reason when ``duckdb`` is asked for). ``auto`` picks DuckDB for a SQL product that DuckDB
runs faithfully and whose inputs are small: the bytes of the inputs' current Delta files (from
the Delta log, with delta-rs) and of their raw drops, under ``MESHLAKE_DUCKDB_MAX_INPUT_BYTES``
(1 GiB). Else Spark, and the reason is kept for the run summary and the logs.

Raw drops are read by DuckDB when their format is CSV or JSON lines with flat declared types: its
readers take the declared schema as Spark's do (header row, empty field is null, no inference).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deltalake import DeltaTable
from deltalake.exceptions import DeltaError
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshlake.platform._duck._conform import contract_types
from meshlake.platform._duck._read import raw_bytes, raw_refusal
from meshlake.platform._duck._transpile import Untranspilable, transpile
from meshlake.platform._duck._types import UnsupportedType
from meshlake.platform._locations import port_location, raw_location
from meshlake.platform._storage import storage_options
from meshlake.platform.specs import Mesh, ProductSpec, spark_type
from meshlake.platform.specs._types import ddl_columns

GIB = 1 << 30


class DuckSettings(BaseSettings):
    """``MESHLAKE_DUCKDB_MAX_INPUT_BYTES``: the most input bytes ``auto`` gives DuckDB."""

    model_config = SettingsConfigDict(env_prefix="MESHLAKE_", extra="ignore")

    duckdb_max_input_bytes: int = GIB


@dataclass(frozen=True)
class EngineChoice:
    """The engine a product runs on, what was asked for, and why when it differs."""

    engine: str  # "spark" or "duckdb"
    asked: str  # "spark", "duckdb" or "auto"
    reason: str = ""
    """Why ``auto`` chose Spark, or why ``duckdb`` cannot run the product ("" otherwise)."""

    @property
    def refused(self) -> bool:
        """``duckdb`` was asked for and cannot run the product faithfully."""
        return self.asked == "duckdb" and bool(self.reason)


def asked_engine(product: ProductSpec) -> str:
    return product.descriptor.engine or product.zone.engine


def choose_engine(
    mesh: Mesh, product: ProductSpec, state_home: Path, max_input_bytes: int | None = None
) -> EngineChoice:
    """The engine for ``product`` now (input sizes are read from the Delta logs as they are)."""
    asked = asked_engine(product)
    if asked == "spark":
        return EngineChoice("spark", asked)
    reason = duckdb_refusal(mesh, product)
    if reason is None and asked == "auto":
        limit = (
            DuckSettings().duckdb_max_input_bytes if max_input_bytes is None else max_input_bytes
        )
        size = input_bytes(mesh, product, state_home)
        if size > limit:
            reason = f"its inputs hold {size:,} bytes, over the DuckDB limit of {limit:,}"
    if reason is None:
        return EngineChoice("duckdb", asked)
    return EngineChoice("spark" if asked == "auto" else "duckdb", asked, reason)


def duckdb_refusal(mesh: Mesh, product: ProductSpec) -> str | None:
    """Why DuckDB cannot run ``product`` as Spark would (None: it can)."""
    tables = [binding.name for binding in product.inputs]
    for binding in product.inputs:
        if binding.raw is not None:
            refusal = raw_refusal(binding.raw)
            if refusal is not None:
                return refusal
    transpiled: set[Path] = set()
    for port in product.ports.values():
        where = f"output port {port.ref.port!r}"
        if port.transform_file.suffix != ".sql":
            return (
                f"{where} has a Python transform ({port.transform_file.name}), which runs on Spark"
            )
        if port.write_mode not in ("overwrite", "append"):
            return f"{where} is written in {port.write_mode} mode, which runs on Spark"
        try:
            contract_types(port)
        except UnsupportedType as exc:
            return f"{where}: {exc}"
        if port.transform_file not in transpiled:
            transpiled.add(port.transform_file)
            try:
                transpile(
                    port.transform_file.read_text(encoding="utf-8"),
                    tables,
                    input_schema(mesh, product),
                )
            except Untranspilable as exc:
                return f"{port.transform_file.name}: {exc.reason}"
    return None


def input_schema(mesh: Mesh, product: ProductSpec) -> dict[str, dict[str, str]]:
    """Each input table's columns and Spark types: the upstream port's contract, or the raw
    source's declared schema."""
    schema: dict[str, dict[str, str]] = {}
    for binding in product.inputs:
        if binding.raw is not None:
            schema[binding.name] = dict(ddl_columns(binding.raw.source.schema_ddl))
        else:
            assert binding.output is not None
            schema[binding.name] = {
                prop.name: spark_type(prop.logical_type, prop.physical_type)
                for prop in mesh.port(binding.output).contract.columns
            }
    return schema


def input_bytes(mesh: Mesh, product: ProductSpec, state_home: Path) -> int:
    """Bytes of the inputs' current data files: Delta add actions' sizes, raw drops' files."""
    total = 0
    for binding in product.inputs:
        if binding.raw is not None:
            zone = mesh.zones[binding.raw.domain.landing_zone]
            location = raw_location(
                zone, binding.raw.domain.name, binding.raw.source.name, state_home
            )
            total += raw_bytes(location)
            continue
        assert binding.output is not None
        location = port_location(
            mesh.product(binding.output.product_ref).zone, binding.output, state_home
        )
        try:
            actions = DeltaTable(
                location, storage_options=storage_options(location)
            ).get_add_actions(flatten=True)
        except (DeltaError, OSError):
            continue  # no table yet: reading it fails the product on either engine
        total += sum(int(size) for size in actions.column("size_bytes").to_pylist())
    return total
