"""Column edges a job's newest run no longer writes leave the current graph; history keeps them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.governance.conftest import Service

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


def _event(kind: str, at: datetime, fields: dict[str, str]) -> dict[str, Any]:
    """A run of job currency.job writing /lake/out from /lake/in: output column <- input column."""
    lineage = {
        column: {
            "inputFields": [
                {
                    "namespace": "file",
                    "name": "/lake/in",
                    "field": source,
                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                }
            ]
        }
        for column, source in fields.items()
    }
    return {
        "eventType": kind,
        "eventTime": at.isoformat(),
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "test", "name": "currency.job"},
        "inputs": [{"namespace": "file", "name": "/lake/in"}],
        "outputs": [
            {
                "namespace": "file",
                "name": "/lake/out",
                "facets": {"columnLineage": {"fields": lineage}},
            }
        ],
        "producer": "https://example.com/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def _edges(service: Service, token: str, history: bool = False) -> dict[tuple[str, str], Any]:
    with service.client(token) as client:
        response = client.get(
            "/api/v1/lineage/graph",
            params={
                "dataset": "/lake/out",
                "namespace": "file",
                "level": "column",
                "history": history,
            },
        )
    assert response.status_code == 200, response.text
    return {
        (edge["target_column"], edge["source_column"]): edge["retired_at"]
        for edge in response.json()["edges"]
    }


def _send(service: Service, token: str, *events: dict[str, Any]) -> None:
    with service.client(token) as client:
        response = client.post("/api/v1/lineage/batch", json=list(events))
    assert response.status_code == 201, response.text


def test_the_current_graph_follows_the_newest_complete_run(service: Service) -> None:
    bot = service.token(
        "currency-bot", kind="service", grants=[{"role": "domain_member", "domain": "currency"}]
    )
    both = {"a": "x", "b": "y"}

    _send(service, bot, _event("START", T0, both), _event("COMPLETE", T0, both))
    first = _edges(service, bot)
    _send(service, bot, _event("COMPLETE", T0 + timedelta(hours=1), {"a": "x"}))
    dropped = _edges(service, bot)
    history = _edges(service, bot, history=True)
    # An older run arriving late does not bring the edge back; a START does not retire anything.
    _send(service, bot, _event("COMPLETE", T0 + timedelta(minutes=30), both))
    late = _edges(service, bot)
    _send(service, bot, _event("COMPLETE", T0 + timedelta(hours=2), both))
    back = _edges(service, bot)
    _send(service, bot, _event("START", T0 + timedelta(hours=3), {"a": "x"}))
    started = _edges(service, bot)

    assert first == {("a", "x"): None, ("b", "y"): None}
    assert dropped == {("a", "x"): None}
    assert set(history) == {("a", "x"), ("b", "y")}
    assert history[("a", "x")] is None
    assert datetime.fromisoformat(history[("b", "y")]) == T0 + timedelta(hours=1)
    assert late == {("a", "x"): None}
    assert back == {("a", "x"): None, ("b", "y"): None}
    assert started == back
