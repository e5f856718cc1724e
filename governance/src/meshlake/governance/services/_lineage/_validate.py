"""Validation that explains: every problem in an event named by its path in the event.

All three events of OpenLineage 2-0-2 are taken: RunEvent (eventType may be left out: the run is
then in state OTHER), and the static JobEvent and DatasetEvent (lineage without a run). An
``eventTime`` without an offset is taken as UTC, as other lineage backends do; digits past the
microsecond (nanoseconds) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from meshlake.governance._errors import InvalidRequestError
from meshlake.governance.services._lineage._lean import _Memo, _parse_lean, _Unaccepted
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


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def json_kind(value: Any) -> str:
    """The JSON type of a decoded value, as messages name it ("got a number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _invalid(path: str, problem: str) -> InvalidRequestError:
    return InvalidRequestError(f"{path or 'event'}: {problem}")


def _object(value: Any, path: str, *, optional: bool = False) -> dict[str, Any]:
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise _invalid(
            path, "required" if value is None else f"must be an object, got {json_kind(value)}"
        )
    return value


def _facets_of(holder: dict[str, Any], path: str) -> dict[str, Any]:
    """Facets may be left out; given, they are an object (null is refused, as the OpenAPI says)."""
    value = holder.get("facets", {})
    if value is None:
        raise _invalid(path, "must be an object, got null; leave facets out instead")
    return _object(value, path)


def _array(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(path, f"must be an array, got {json_kind(value)}")
    return value


def _text(value: Any, path: str, limit: int | None = None, *, optional: bool = False) -> str | None:
    if optional and (value is None or value == ""):
        return None
    if value is None or value == "":
        raise _invalid(path, "required")
    if not isinstance(value, str):
        raise _invalid(path, f"must be a string, got {json_kind(value)}")
    if limit is not None and len(value) > limit:
        raise _invalid(path, f"longer than {limit} characters ({len(value)})")
    if "\x00" in value:
        # JSON allows it, PostgreSQL text does not (it would be a 500).
        raise _invalid(path, "contains a NUL character (\\u0000)")
    return value


def _required(value: Any, path: str, limit: int | None = None) -> str:
    text = _text(value, path, limit)
    assert text is not None  # _text raises on a missing value unless optional
    return text


def _event_time(value: Any, path: str) -> datetime:
    text = _required(value, path)
    try:
        moment = datetime.fromisoformat(text)
        # Stored in UTC: SQLite keeps no offset, and run times are compared across events.
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset, say
        raise _invalid(path, f"{text!r} is not an ISO 8601 date-time in range") from None


def parse_event(value: Any, path: str = "", memo: _Memo | None = None) -> _Event:
    """One event's lineage (RunEvent, JobEvent or DatasetEvent); InvalidRequestError naming the
    first field that does not fit.

    Only what the store reads is checked (and facets it does not read are ignored), so producers
    with extra or custom facets are welcome. ``path`` prefixes the field names (a batch's index).
    ``memo``, shared by the events of a batch, remembers each output's columnLineage facet: the
    START and COMPLETE of a run, and every run of a job, usually carry the same one, and comparing
    two facets (in C) costs far less than reading one again.

    Two parsers, one contract: a lean one takes well-formed events at a few microseconds each (a
    batch carries thousands of column-lineage entries), and at the first thing it does not accept
    hands the event to the explaining one, which walks it with paths and names the field. The lean
    one accepts nothing the explaining one refuses.
    """
    try:
        return _parse_lean(value, {} if memo is None else memo)
    except (_Unaccepted, ValueError, OverflowError):
        return _parse_explained(value, path)


def _parse_explained(value: Any, path: str) -> _Event:
    event = _object(value, path)
    # OpenLineage 2-0-2 tells its three events apart by what they carry: a RunEvent has run and
    # job, a JobEvent a job and no run, a DatasetEvent a dataset (and not both run and job). The
    # first shape the event fits is taken; when it fits none, the problem of the first it tried.
    shapes: list[Callable[[dict[str, Any], str], _Event]] = []
    if "run" in event:
        shapes.append(_run_event)
    elif "job" in event:
        shapes.append(_job_event)
    if "dataset" in event and not ("run" in event and "job" in event):
        shapes.append(_dataset_event)
    if not shapes and "eventType" in event:
        shapes.append(_run_event)  # only a RunEvent has an eventType: name what it lacks
    if not shapes:
        raise _invalid(
            _at(path, "run"),
            "required: a RunEvent has run and job, a JobEvent job, a DatasetEvent dataset",
        )
    problem: InvalidRequestError | None = None
    for shape in shapes:
        try:
            return shape(event, path)
        except InvalidRequestError as exc:
            problem = problem or exc
    assert problem is not None
    raise problem


def _run_event(event: dict[str, Any], path: str) -> _Event:
    given = event.get("eventType")
    kind = "OTHER"
    if given is not None:  # the spec lets a RunEvent leave eventType out
        kind = _required(given, _at(path, "eventType"))
        if kind not in EVENT_TYPES:
            raise _invalid(
                _at(path, "eventType"), f"{kind!r} is not one of {', '.join(EVENT_TYPES)}"
            )
    moment = _event_time(event.get("eventTime"), _at(path, "eventTime"))
    run_path = _at(path, "run")
    run = _object(event.get("run"), run_path)
    run_id = _required(run.get("runId"), _at(run_path, "runId"), _RUN_ID)
    error = None
    run_facets = _facets_of(run, _at(run_path, "facets"))
    if "errorMessage" in run_facets:
        facet_path = _at(_at(run_path, "facets"), "errorMessage")
        facet = _object(run_facets["errorMessage"], facet_path)
        error = _required(facet.get("message"), _at(facet_path, "message"))
    job_key = _job(event, path)
    inputs, outputs, edges = _io(event, path)
    return _Event(kind, moment, run_id, job_key, error, inputs, outputs, edges, event_type=given)


def _job_event(event: dict[str, Any], path: str) -> _Event:
    """Static lineage of a job: its datasets and edges, with no run."""
    moment = _event_time(event.get("eventTime"), _at(path, "eventTime"))
    job_key = _job(event, path)
    inputs, outputs, edges = _io(event, path)
    return _Event("OTHER", moment, None, job_key, None, inputs, outputs, edges, shape="JobEvent")


def _dataset_event(event: dict[str, Any], path: str) -> _Event:
    """Static metadata of a dataset: the dataset (and its logical name) is recorded."""
    moment = _event_time(event.get("eventTime"), _at(path, "eventTime"))
    key, logical, _facets = _dataset(event.get("dataset"), _at(path, "dataset"))
    return _Event("OTHER", moment, None, None, None, [(key, logical)], [], [], shape="DatasetEvent")


def _job(event: dict[str, Any], path: str) -> JobKey:
    job_path = _at(path, "job")
    job = _object(event.get("job"), job_path)
    return JobKey(
        _required(job.get("namespace"), _at(job_path, "namespace"), _JOB_PART),
        _required(job.get("name"), _at(job_path, "name"), _JOB_PART),
    )


def _io(
    event: dict[str, Any], path: str
) -> tuple[
    list[tuple[DatasetKey, str | None]],
    list[tuple[DatasetKey, str | None]],
    list[list[_ColumnEdge]],
]:
    inputs = []
    for index, item in enumerate(_array(event.get("inputs"), _at(path, "inputs"))):
        key, logical, _facets = _dataset(item, _at(_at(path, "inputs"), index))
        inputs.append((key, logical))
    outputs = []
    edges: list[list[_ColumnEdge]] = []
    for index, item in enumerate(_array(event.get("outputs"), _at(path, "outputs"))):
        item_path = _at(_at(path, "outputs"), index)
        key, logical, facets = _dataset(item, item_path)
        outputs.append((key, logical))
        if "columnLineage" in facets:
            facet_path = _at(_at(item_path, "facets"), "columnLineage")
            edges.append(list(_column_edges(key, facets["columnLineage"], facet_path)))
    return inputs, outputs, edges


def _dataset(value: Any, path: str) -> tuple[DatasetKey, str | None, dict[str, Any]]:
    dataset = _object(value, path)
    key = DatasetKey(
        _required(dataset.get("namespace"), _at(path, "namespace"), _DATASET_NAMESPACE),
        _required(dataset.get("name"), _at(path, "name"), _DATASET_NAME),
    )
    facets = _facets_of(dataset, _at(path, "facets"))
    logical = None
    if "symlinks" in facets:
        symlinks_path = _at(_at(path, "facets"), "symlinks")
        symlinks = _object(facets["symlinks"], symlinks_path)
        identifiers_path = _at(symlinks_path, "identifiers")
        for index, item in enumerate(_array(symlinks.get("identifiers"), identifiers_path)):
            item_path = _at(identifiers_path, index)
            identifier = _object(item, item_path)
            namespace = _required(identifier.get("namespace"), _at(item_path, "namespace"))
            name = _required(identifier.get("name"), _at(item_path, "name"), _LOGICAL_NAME)
            if namespace == LOGICAL_NAMESPACE and logical is None:
                logical = name
    return key, logical, facets


def _column_edges(output: DatasetKey, value: Any, path: str) -> Iterator[_ColumnEdge]:
    facet = _object(value, path)
    fields_path = _at(path, "fields")
    groups: list[tuple[str, str, list[Any]]] = []
    for column, entry in _object(facet.get("fields"), fields_path, optional=True).items():
        column_path = _at(fields_path, column)
        _required(column, column_path, _COLUMN)
        inputs_path = _at(column_path, "inputFields")
        groups.append(
            (
                column,
                inputs_path,
                _array(_object(entry, column_path).get("inputFields"), inputs_path),
            )
        )
    # Dataset-level dependencies (join keys, filters, grouping): output column "".
    groups.append(("", _at(path, "dataset"), _array(facet.get("dataset"), _at(path, "dataset"))))
    for column, inputs_path, items in groups:
        for index, item in enumerate(items):
            item_path = _at(inputs_path, index)
            source = _object(item, item_path)
            key = DatasetKey(
                _required(source.get("namespace"), _at(item_path, "namespace"), _DATASET_NAMESPACE),
                _required(source.get("name"), _at(item_path, "name"), _DATASET_NAME),
            )
            input_column = _required(source.get("field"), _at(item_path, "field"), _COLUMN)
            steps_path = _at(item_path, "transformations")
            steps = _array(source.get("transformations"), steps_path)
            if not steps:
                yield (
                    (output, column, key, input_column, ""),
                    (UNKNOWN_TRANSFORMATION, DEFAULT_PROVENANCE),
                )
            for step_index, step_value in enumerate(steps):
                step_path = _at(steps_path, step_index)
                step = _object(step_value, step_path)
                kind = _required(step.get("type"), _at(step_path, "type"), _TYPE)
                subtype = _text(
                    step.get("subtype"), _at(step_path, "subtype"), _SUBTYPE, optional=True
                )
                provenance = _text(
                    step.get("provenance"), _at(step_path, "provenance"), _PROVENANCE, optional=True
                )
                yield (
                    (output, column, key, input_column, subtype or ""),
                    (kind, provenance or DEFAULT_PROVENANCE),
                )
