"""What the lineage event tests share: the mini mesh, a fixed run, and events as sent on the wire."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import RunEvent
from openlineage.client.serde import Serde

from meshlake.platform import load_mesh
from meshlake.platform.lineage._events import product_run_event
from meshlake.platform.specs import Mesh
from tests.helpers import MINI_MESH

MINI = load_mesh(MINI_MESH)
RUN_ID = "3f1c2a9e-8b7d-4c6e-9a5f-0d1e2f3a4b5c"
WHEN = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)


def wire(event: RunEvent) -> dict[str, Any]:
    """The event as the transports send it."""
    return json.loads(Serde.to_json(event))


def run_event(kind: str, mesh: Mesh, product: str, state: Path, **extra: Any) -> dict[str, Any]:
    """A product run event of ``kind`` for the fixed run, on the wire."""
    event = product_run_event(
        kind,
        mesh=mesh,
        product=mesh.product(product),
        run_id=RUN_ID,
        state_home=state,
        event_time=WHEN,
        **extra,
    )
    return wire(event)


def by_name(datasets: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(dataset for dataset in datasets if dataset["name"].endswith(name))
