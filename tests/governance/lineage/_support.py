"""What the lineage store tests share: the sample mesh, a producer's client, its events, and the
names the graph endpoints use."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.serde import Serde
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)

from meshlake.platform import load_mesh
from meshlake.platform.lineage import product_column_lineage, product_run_event
from tests.governance.conftest import Service
from tests.helpers import REPO

MESH = load_mesh(REPO)
AMP = "sales.account_manager_performance"
T0 = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


def lineage_client(service: Service, token: str, gzip: bool = False) -> OpenLineageClient:
    config = HttpConfig(
        url=service.url,
        endpoint="api/v1/lineage",
        auth=ApiKeyTokenProvider({"apiKey": token}),
        compression=HttpCompression.GZIP if gzip else None,
    )
    return OpenLineageClient(transport=HttpTransport(config))


def run_event(product: str, kind: str, state: Path, run_id: str, **extra: Any) -> Any:
    spec = MESH.product(product)
    return product_run_event(
        kind,
        mesh=MESH,
        product=spec,
        run_id=run_id,
        state_home=state,
        column_lineage=product_column_lineage(MESH, spec),
        **extra,
    )


def wire(event: Any) -> dict[str, Any]:
    return dict(json.loads(Serde.to_json(event)))


def port_name(state: Path, zone: str, ref: str) -> str:
    domain, product, port = ref.split(".")
    return f"dataset:file:{state}/lake/{zone}/{domain}/{product}/{port}"


def raw_name(state: Path, zone: str, domain: str, source: str) -> str:
    return f"dataset:file:{state}/lake/{zone}/_raw/{domain}/{source}"


def job_name(zone: str, product: str) -> str:
    return f"job:{zone}:{product}"


def get_json(service: Service, token: str, path: str, **params: Any) -> Any:
    with service.client(token) as client:
        response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def pairs(graph: dict[str, Any]) -> set[tuple[str, str]]:
    return {(edge["source"], edge["target"]) for edge in graph["edges"]}
