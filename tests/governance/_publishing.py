"""The governed publication, as the governance tests drive it over HTTP: register the sample mesh
with its declared inputs, stage, ask for a decision, commit a Delta table with delta-rs the way the
platform commits (the run id in the commit's userMetadata), record the versions.

No Spark: tables are written with ``deltalake.write_deltalake`` in the contract's schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import httpx
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake

from meshlake.governance.services._schemas import canonical_type
from meshlake.platform import load_mesh
from meshlake.platform._governance import domain_payload, product_payload, zone_payload
from meshlake.platform.specs import Contract, ProductSpec, spark_type
from tests.governance.conftest import BOOTSTRAP, Service
from tests.helpers import REPO

MESH = load_mesh(REPO)

_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "smallint": pa.int16(),
    "tinyint": pa.int8(),
    "double": pa.float64(),
    "float": pa.float32(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def declared_inputs(product: ProductSpec) -> list[dict[str, Any]]:
    """The product's input ports in the registration's shape (PUT .../products: ``inputs``)."""
    items: list[dict[str, Any]] = []
    for binding in product.inputs:
        if binding.output is not None:
            items.append(
                {
                    "name": binding.name,
                    "kind": "product",
                    "port": str(binding.output),
                    "domain": binding.output.domain,
                }
            )
        elif binding.raw is not None:
            items.append(
                {
                    "name": binding.name,
                    "kind": "raw",
                    "source": binding.raw.source.id,
                    "domain": binding.raw.domain.name,
                }
            )
    return items


def registration(product: ProductSpec, state: Path) -> dict[str, Any]:
    return {**product_payload(product, state), "inputs": declared_inputs(product)}


def register_mesh(service: Service, state: Path) -> None:
    """Every zone, domain and product of the sample mesh, products with their declared inputs."""
    with service.client() as admin:
        for zone in MESH.zones:
            admin.put(
                f"/api/v1/zones/{zone}", json=zone_payload(MESH, zone, state)
            ).raise_for_status()
        for domain in MESH.domains:
            admin.put(
                f"/api/v1/domains/{domain}", json=domain_payload(MESH, domain)
            ).raise_for_status()
        for product in MESH.ordered():
            path = f"/api/v1/products/{product.ref.domain}/{product.ref.name}"
            admin.put(path, json=registration(product, state)).raise_for_status()


def arrow_type(kind: str) -> pa.DataType:
    if kind.startswith("decimal("):
        precision, scale = kind[len("decimal(") : -1].split(",")
        return pa.decimal128(int(precision), int(scale))
    return _ARROW[kind]


def _value(kind: str, row: int) -> Any:
    if kind.startswith("decimal("):
        return Decimal(row)
    if kind == "string":
        return f"v{row}"
    if kind in ("bigint", "int", "smallint", "tinyint"):
        return row
    if kind in ("double", "float"):
        return float(row)
    if kind == "boolean":
        return row % 2 == 0
    if kind == "date":
        return date(2026, 1, 1) + timedelta(days=row)
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=row)


def contract_columns(contract: Contract) -> list[tuple[str, str, bool]]:
    """(name, canonical type, required) of each contract column."""
    return [
        (
            prop.name,
            canonical_type(spark_type(prop.logical_type, prop.physical_type)),
            prop.required,
        )
        for prop in contract.columns
    ]


def staged_schema(contract: Contract) -> list[dict[str, Any]]:
    """The schema the platform stages for ``contract``: required columns are not nullable."""
    return [
        {"name": name, "type": kind, "nullable": not required}
        for name, kind, required in contract_columns(contract)
    ]


def contract_table(contract: Contract, rows: int) -> pa.Table:
    """``rows`` rows in the contract's schema (required columns NOT NULL)."""
    columns = contract_columns(contract)
    schema = pa.schema(
        [
            pa.field(name, arrow_type(kind), nullable=not required)
            for name, kind, required in columns
        ]
    )
    return pa.table(
        {name: [_value(kind, row) for row in range(rows)] for name, kind, _ in columns},
        schema=schema,
    )


def commit(
    location: str,
    table: pa.Table,
    run_id: str | None,
    mode: Literal["overwrite", "append"] = "overwrite",
) -> int:
    """Commit ``table`` as the platform does (the run id in userMetadata); the version made."""
    Path(location).parent.mkdir(parents=True, exist_ok=True)
    metadata = {} if run_id is None else {"meshlake.run_id": run_id}
    properties = CommitProperties(custom_metadata={"userMetadata": json.dumps(metadata)})
    if mode == "overwrite":
        # An overwrite replaces the schema too, as the platform's overwrite does.
        write_deltalake(
            location, table, mode="overwrite", schema_mode="overwrite", commit_properties=properties
        )
    else:
        write_deltalake(location, table, mode="append", commit_properties=properties)
    return int(DeltaTable(location).version())


def staged_ports(product: ProductSpec, rows: int = 3) -> list[dict[str, Any]]:
    """Every port of ``product`` staged in its contract's schema (POST .../decisions: ``ports``)."""
    return [
        {
            "port": name,
            "contract_version": port.contract.version,
            "schema": staged_schema(port.contract),
            "row_count": rows,
            "quality": {"rules": 1, "passed": 1, "failed": []},
        }
        for name, port in product.ports.items()
    ]


@dataclass
class Publisher:
    """Drives one product's publication through the service with ``token``."""

    service: Service
    token: str = BOOTSTRAP

    def client(self) -> httpx.Client:
        return self.service.client(self.token)

    def location(self, ref: str) -> str:
        with self.service.client() as admin:
            return str(admin.get(f"/api/v1/datasets/{ref}").json()["location"])

    def published_version(self, ref: str) -> int | None:
        with self.service.client() as admin:
            response = admin.get(f"/api/v1/datasets/{ref}/published")
        return int(response.json()["delta_version"]) if response.status_code == 200 else None

    def inputs_read(self, product: ProductSpec) -> list[dict[str, Any]]:
        """Each declared product input at the version the catalog published."""
        read = []
        for binding in product.inputs:
            if binding.output is not None:
                version = self.published_version(str(binding.output))
                assert version is not None, f"{binding.output} is not published yet"
                read.append({"port": str(binding.output), "version": version})
        return read

    def decide(
        self,
        product: ProductSpec,
        run_id: str,
        *,
        ports: list[dict[str, Any]] | None = None,
        inputs: list[dict[str, Any]] | None = None,
    ) -> httpx.Response:
        body = {
            "run_id": run_id,
            "ports": staged_ports(product) if ports is None else ports,
            "inputs": self.inputs_read(product) if inputs is None else inputs,
        }
        with self.client() as client:
            return client.post(
                f"/api/v1/products/{product.ref.domain}/{product.ref.name}/decisions", json=body
            )

    def record(
        self,
        product: ProductSpec,
        run_id: str,
        decision_id: int,
        versions: dict[str, int],
        row_counts: dict[str, int] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        ports = [
            {
                "port": name,
                "delta_version": version,
                "contract_version": product.ports[name].contract.version,
                **({"row_count": row_counts[name]} if row_counts and name in row_counts else {}),
                **extra,
            }
            for name, version in versions.items()
        ]
        with self.client() as client:
            return client.post(
                f"/api/v1/products/{product.ref.domain}/{product.ref.name}/versions",
                json={"run_id": run_id, "decision_id": decision_id, "ports": ports},
            )

    def commit_ports(self, product: ProductSpec, run_id: str, rows: int = 3) -> dict[str, int]:
        return {
            name: commit(self.location(str(port.ref)), contract_table(port.contract, rows), run_id)
            for name, port in product.ports.items()
        }

    def publish(self, product: ProductSpec, run_id: str, rows: int = 3) -> dict[str, Any]:
        """The whole flow: decide, commit every port, record with the claimed row counts."""
        decided = self.decide(product, run_id)
        assert decided.status_code == 200, decided.text
        assert decided.json()["commit"], decided.json()
        versions = self.commit_ports(product, run_id, rows)
        recorded = self.record(
            product, run_id, decided.json()["id"], versions, {name: rows for name in versions}
        )
        assert recorded.status_code == 201, recorded.text
        return dict(recorded.json())


def ensure_published(publisher: Publisher, ref: str) -> None:
    """Publish ``ref`` and every product it reads, transitively, in dependency order, each unless
    the catalog has a version of it already."""
    wanted = {MESH.product(ref).ref}
    frontier = set(wanted)
    while frontier:
        frontier = {up for item in frontier for up in MESH.product(item).upstream} - wanted
        wanted |= frontier
    for product in MESH.ordered(wanted):
        if any(
            publisher.published_version(str(port.ref)) is None for port in product.ports.values()
        ):
            publisher.publish(product, f"run-{product.ref}-upstream")


def publish_upstream(publisher: Publisher, ref: str) -> None:
    """Publish what ``ref`` reads (not ``ref``), as :func:`ensure_published` does."""
    for upstream in sorted(MESH.product(ref).upstream, key=str):
        ensure_published(publisher, str(upstream))
