"""The lean parser: well-formed RunEvents at a few microseconds each, no explanations."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from meshlake.governance.services._lineage._model import (
    _COLUMN,
    _DATASET_NAME,
    _DATASET_NAMESPACE,
    _JOB_PART,
    _LOGICAL_NAME,
    _PROVENANCE,
    _RUN_ID,
    _SUBTYPE,
    _TYPE,
    DEFAULT_PROVENANCE,
    EVENT_TYPES,
    LOGICAL_NAMESPACE,
    UNKNOWN_TRANSFORMATION,
    DatasetKey,
    JobKey,
    _ColumnEdge,
    _Event,
)

_Memo = dict[DatasetKey, tuple[Any, list[_ColumnEdge]]]
"""Per output dataset, the last columnLineage facet read and its edges (see :func:`parse_event`)."""

_MEMO_LIMIT = 20_000
_facet_memo: _Memo = {}
"""The memo of :func:`parse_event` shared by every request of the process: a job's runs carry the
same columnLineage facet run after run, so a steady stream re-reads few of them. Bounded by
emptying it when full; dict reads and writes are atomic under the GIL, and an entry is only ever
replaced by an equally valid one, so threads share it without a lock."""


class _Unaccepted(Exception):
    """The lean parser met something it does not accept; the explaining parser names it."""


_EVENT_TYPE_SET = frozenset(EVENT_TYPES)
_NO_FACETS: dict[str, Any] = {}
"""Facets left out (shared, never written)."""


def _name(value: Any, limit: int) -> str:
    if type(value) is not str or not value or len(value) > limit or "\x00" in value:
        raise _Unaccepted
    return value


def _optional_name(value: Any, limit: int) -> str:
    if value is None or value == "":
        return ""
    if type(value) is not str or len(value) > limit or "\x00" in value:
        raise _Unaccepted
    return value


def _dict(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Unaccepted
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:
        raise _Unaccepted
    return value


def _parse_lean(value: Any, memo: _Memo) -> _Event:
    event = _dict(value)
    kind = event.get("eventType")
    if type(kind) is not str or kind not in _EVENT_TYPE_SET:
        raise _Unaccepted
    text = event.get("eventTime")
    if type(text) is not str:
        raise _Unaccepted
    moment = datetime.fromisoformat(text)  # Value/OverflowError: the explaining parser names it
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    run = _dict(event.get("run"))
    run_id = _name(run.get("runId"), _RUN_ID)
    # Facets may be left out; given, they are an object (null too is refused, as the schema says).
    run_facets = _dict(run.get("facets", _NO_FACETS))
    error = None
    if "errorMessage" in run_facets:
        error = _name(_dict(run_facets["errorMessage"]).get("message"), sys.maxsize)
    job = _dict(event.get("job"))
    job_key = JobKey(_name(job.get("namespace"), _JOB_PART), _name(job.get("name"), _JOB_PART))
    inputs = [_lean_dataset(item)[:2] for item in _list(event.get("inputs"))]
    outputs = []
    edges: list[list[_ColumnEdge]] = []
    for item in _list(event.get("outputs")):
        key, logical, facets = _lean_dataset(item)
        outputs.append((key, logical))
        if "columnLineage" not in facets:
            continue
        facet = facets["columnLineage"]
        seen = memo.get(key)
        if seen is not None and seen[0] == facet:
            edges.append(seen[1])
            continue
        found: list[_ColumnEdge] = []
        fields = _dict(facet).get("fields")
        if fields is not None:
            for column, entry in _dict(fields).items():
                _name(column, _COLUMN)
                _lean_edges(found, key, column, _list(_dict(entry).get("inputFields")))
        _lean_edges(found, key, "", _list(facet.get("dataset")))
        memo[key] = (facet, found)
        edges.append(found)
    return _Event(kind, moment, run_id, job_key, error, inputs, outputs, edges, event_type=kind)


def _lean_dataset(value: Any) -> tuple[DatasetKey, str | None, dict[str, Any]]:
    dataset = _dict(value)
    key = DatasetKey(
        _name(dataset.get("namespace"), _DATASET_NAMESPACE),
        _name(dataset.get("name"), _DATASET_NAME),
    )
    facets = _dict(dataset.get("facets", _NO_FACETS))
    logical = None
    if "symlinks" in facets:
        for item in _list(_dict(facets["symlinks"]).get("identifiers")):
            identifier = _dict(item)
            namespace = _name(identifier.get("namespace"), sys.maxsize)
            name = _name(identifier.get("name"), _LOGICAL_NAME)
            if namespace == LOGICAL_NAMESPACE and logical is None:
                logical = name
    return key, logical, facets


def _lean_edges(
    edges: list[_ColumnEdge], output: DatasetKey, column: str, items: list[Any]
) -> None:
    # The hot loop of ingest (one pass per input field and transformation): the checks of _name,
    # _optional_name and _dict are written out, as function calls are most of its cost.
    for source in items:
        if type(source) is not dict:
            raise _Unaccepted
        namespace, name = source.get("namespace"), source.get("name")
        field_name = source.get("field")
        if (
            type(namespace) is not str
            or not namespace
            or len(namespace) > _DATASET_NAMESPACE
            or "\x00" in namespace
            or type(name) is not str
            or not name
            or len(name) > _DATASET_NAME
            or "\x00" in name
            or type(field_name) is not str
            or not field_name
            or len(field_name) > _COLUMN
            or "\x00" in field_name
        ):
            raise _Unaccepted
        key = DatasetKey(namespace, name)
        steps = source.get("transformations")
        if steps is None or steps == []:
            edges.append(
                (
                    (output, column, key, field_name, ""),
                    (UNKNOWN_TRANSFORMATION, DEFAULT_PROVENANCE),
                )
            )
            continue
        if type(steps) is not list:
            raise _Unaccepted
        for step in steps:
            if type(step) is not dict:
                raise _Unaccepted
            kind, subtype = step.get("type"), step.get("subtype")
            provenance = step.get("provenance")
            if type(kind) is not str or not kind or len(kind) > _TYPE or "\x00" in kind:
                raise _Unaccepted
            if subtype is None:
                subtype = ""
            elif type(subtype) is not str or len(subtype) > _SUBTYPE or "\x00" in subtype:
                raise _Unaccepted
            if provenance is None or provenance == "":
                provenance = DEFAULT_PROVENANCE
            elif (
                type(provenance) is not str or len(provenance) > _PROVENANCE or "\x00" in provenance
            ):
                raise _Unaccepted
            edges.append(((output, column, key, field_name, subtype), (kind, provenance)))
