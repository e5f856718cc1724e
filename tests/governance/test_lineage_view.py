"""The store's view of a RunEvent (msgspec, only the fields the store reads) is a fast path only.

For every body, either the view gives up (and the endpoint decodes the body whole and runs
``parse_event``, which names the problem), or it yields exactly the events ``parse_event`` makes of
the same JSON. Checked on meshlake's real events and on variants at each place where absent,
``null``, a wrong type or a bad value changes the verdict.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from openlineage.client.serde import Serde

from meshlake.governance._errors import InvalidRequestError
from meshlake.governance.services._lineage import parse_event
from meshlake.governance.services._lineage._view import read_events
from meshlake.platform import load_mesh
from meshlake.platform.lineage import product_column_lineage, product_run_event
from tests.helpers import REPO

pytestmark = pytest.mark.unit

MESH = load_mesh(REPO)


def _events() -> list[dict[str, Any]]:
    events = []
    for product in MESH.products.values():
        lineage = product_column_lineage(MESH, product)
        for second, kind in ((0, "START"), (30, "COMPLETE"), (40, "FAIL")):
            extra = {"error": "boom: the transform failed"} if kind == "FAIL" else {}
            event = product_run_event(
                kind,
                mesh=MESH,
                product=product,
                run_id=str(uuid.uuid4()),
                state_home=Path("/state"),
                column_lineage=lineage,
                event_time=datetime(2026, 11, 2, 7, 0, second, tzinfo=UTC),
                **extra,
            )
            events.append(json.loads(Serde.to_json(event)))
    return events


EVENTS = _events()
ORDERS = next(
    event
    for event in EVENTS
    if event["job"]["name"] == "sales.orders" and event["eventType"] == "COMPLETE"
)


def _reference(raw: bytes, *, batch: bool) -> list[Any] | None:
    """What the endpoint made of the body before the view: orjson, then parse_event."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    items = payload if batch else [payload]
    if not isinstance(items, list) or (not batch and not isinstance(payload, dict)):
        return None
    try:
        return [parse_event(item, f"[{index}]", {}) for index, item in enumerate(items)]
    except InvalidRequestError:
        return None


def _same(raw: bytes, *, batch: bool) -> list[Any] | None:
    fast = read_events(raw, batch=batch)
    reference = _reference(raw, batch=batch)
    if reference is None:
        assert fast is None, "the view took a body the store refuses"
    elif fast is not None:
        assert fast == reference
    return fast


def test_the_view_takes_meshlakes_events_and_reads_them_as_parse_event_does() -> None:
    assert any(event["run"]["facets"].get("errorMessage") for event in EVENTS)
    batch = orjson.dumps(EVENTS)
    taken = _same(batch, batch=True)
    assert taken is not None and len(taken) == len(EVENTS)
    assert sum(len(edges) for event in taken for found in event.edges for edges in found) > 100
    for event in EVENTS:
        assert _same(orjson.dumps(event), batch=False) is not None
    # Twice through the process-wide memo: the second read reuses the first one's edges.
    again = _same(batch, batch=True)
    assert again is not None and again[1].edges[0] is taken[1].edges[0]


def _input_field(event: dict[str, Any]) -> dict[str, Any]:
    fields = event["outputs"][0]["facets"]["columnLineage"]["fields"]
    field: dict[str, Any] = next(iter(fields.values()))["inputFields"][0]
    return field


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or, for the value DELETE, remove) a dotted path; numbers index lists."""

    def change(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = event
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        key: Any = int(last) if last.isdigit() else last
        if value is DELETE:
            del node[key]
        else:
            node[key] = value

    return change


DELETE = object()


def _extras(event: dict[str, Any]) -> None:
    event["run"]["facets"]["custom"] = {"deep": [{"x": [1, 2.5e300, None, True]}]}
    event["extraTopLevel"] = {"a": "b"}
    _input_field(event)["comment"] = "ignored"


def _null_entry(event: dict[str, Any]) -> None:
    event["outputs"][0]["facets"]["columnLineage"]["fields"]["bad"] = None


CL = "outputs.0.facets.columnLineage"
VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "unchanged": lambda event: None,
    "extra facets and fields anywhere": _extras,
    "facets null": _set("outputs.0.facets", None),
    "run facets null": _set("run.facets", None),
    "run facets a list": _set("run.facets", []),
    "errorMessage null": _set("run.facets.errorMessage", None),
    "errorMessage without message": _set("run.facets.errorMessage", {"x": 1}),
    "errorMessage message empty": _set("run.facets.errorMessage", {"message": ""}),
    "columnLineage null": _set(CL, None),
    "columnLineage a string": _set(CL, "x"),
    "columnLineage fields null": _set(f"{CL}.fields", None),
    "columnLineage fields absent": _set(f"{CL}.fields", DELETE),
    "columnLineage dataset null": _set(f"{CL}.dataset", None),
    "columnLineage an entry null": _null_entry,
    "an empty column name": lambda event: event["outputs"][0]["facets"]["columnLineage"][
        "fields"
    ].update({"": {"inputFields": []}}),
    "inputFields null": lambda event: next(
        iter(event["outputs"][0]["facets"]["columnLineage"]["fields"].values())
    ).update(inputFields=None),
    "transformations null": lambda event: _input_field(event).update(transformations=None),
    "transformations empty": lambda event: _input_field(event).update(transformations=[]),
    "transformation subtype empty": lambda event: _input_field(event)["transformations"][0].update(
        subtype=""
    ),
    "transformation subtype null": lambda event: _input_field(event)["transformations"][0].update(
        subtype=None
    ),
    "transformation provenance empty": lambda event: _input_field(event)["transformations"][
        0
    ].update(provenance=""),
    "transformation type too long": lambda event: _input_field(event)["transformations"][0].update(
        type="X" * 21
    ),
    "transformation subtype too long": lambda event: _input_field(event)["transformations"][
        0
    ].update(subtype="S" * 31),
    "transformation provenance too long": lambda event: _input_field(event)["transformations"][
        0
    ].update(provenance="P" * 21),
    "a column name too long": lambda event: event["outputs"][0]["facets"]["columnLineage"][
        "fields"
    ].update({"c" * 201: {"inputFields": []}}),
    "a logical name too long": _set("outputs.0.facets.symlinks.identifiers.0.name", "n" * 501),
    "transformation a number": lambda event: _input_field(event).update(transformations=[5]),
    "input field with a NUL": lambda event: _input_field(event).update(field="a\x00b"),
    "input field namespace a number": lambda event: _input_field(event).update(namespace=7),
    "symlinks null": _set("outputs.0.facets.symlinks", None),
    "symlinks identifiers null": _set("outputs.0.facets.symlinks.identifiers", None),
    "an identifier without a name": _set("outputs.0.facets.symlinks.identifiers.0.name", DELETE),
    "input facets null": _set("inputs.0.facets", None),
    "input symlinks null": _set("inputs.0.facets.symlinks", None),
    "input columnLineage malformed (not read on inputs)": _set(
        "inputs.0.facets.columnLineage", "not read"
    ),
    "inputs null": _set("inputs", None),
    "outputs absent": _set("outputs", DELETE),
    "an output a string": _set("outputs.0", "x"),
    "eventType absent": _set("eventType", DELETE),
    "eventType lower case": _set("eventType", "complete"),
    "eventTime naive": _set("eventTime", "2026-11-02T07:00:30"),
    "eventTime with an offset": _set("eventTime", "2026-11-02T09:00:30+02:00"),
    "eventTime not a time": _set("eventTime", "soon"),
    "eventTime a number": _set("eventTime", 5),
    "run null": _set("run", None),
    "runId too long": _set("run.runId", "r" * 65),
    "job name empty": _set("job.name", ""),
    "job a list": _set("job", []),
    "non-ASCII names": lambda event: _input_field(event).update(field="prénom_日本"),
}


@pytest.mark.parametrize("case", sorted(VARIANTS))
def test_a_variant_is_read_as_parse_event_reads_it_or_left_to_it(case: str) -> None:
    event = copy.deepcopy(ORDERS)
    event["run"]["facets"]["errorMessage"] = {"message": "kept", "programmingLanguage": "python"}
    VARIANTS[case](event)
    _same(orjson.dumps(event), batch=False)
    _same(orjson.dumps([EVENTS[0], event]), batch=True)


def test_bodies_the_view_leaves_to_the_full_decoder() -> None:
    valid = json.dumps(ORDERS)
    assert read_events(valid.encode(), batch=False) is not None
    for raw, batch in (
        # Invalid UTF-8 inside a facet the view skips: JSON is UTF-8, so the body is refused.
        (
            valid.replace('"eventType"', '"x": "\udcff", "eventType"').encode(
                "utf-8", "surrogateescape"
            ),
            False,
        ),
        (valid.encode()[:-1], False),
        (("[" + valid + "]").encode(), False),
        (valid.encode(), True),
        (b'{"eventType": NaN}', False),
        (b"[" * 5000 + b"]" * 5000, True),
    ):
        assert read_events(raw, batch=batch) is None
        assert _reference(raw, batch=batch) is None


def test_duplicate_and_escaped_keys_read_as_the_full_decoder_reads_them() -> None:
    text = json.dumps(ORDERS)
    duplicate = text.replace(
        '"eventType": "COMPLETE"', '"eventType": "START", "eventType": "COMPLETE"'
    )
    escaped = text.replace('"eventType"', '"event\\u0054ype"')
    for variant in (duplicate, escaped):
        _same(variant.encode(), batch=False)
