"""The store's view of RunEvents: decoded straight from the body, with only the fields it reads.

A meshlake RunEvent is 5-22 kB, and most of it is facets the store does not keep (schemas,
documentation, SQL, ownership, data quality). Decoding all of it into dicts and lists, then
freeing it, was the largest single cost of ingest. msgspec decodes the body into the structs
below and skips every other field without building it (still checking that the JSON is well
formed), and the structs are not tracked by the garbage collector.

This is a fast path, not a second set of rules: :func:`read_events` gives up (returns None) on
anything it does not take as it is, and the caller then decodes the body whole and runs
:func:`parse_event`, which accepts and refuses exactly as before and names the field. What it
takes, it turns into the same :class:`_Event` the lean parser makes of the same JSON: the
same checks, in the same order, on the same fields. Absent and ``null`` differ where the lean
parser tells them apart (``UNSET`` below).

One difference, by design: a number too large for a double (``1e400``) inside a facet the store
does not read is skipped here, where decoding the whole body refused it.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import msgspec
from msgspec import UNSET, UnsetType

from meshlake.governance.services._lineage._lean import _Unaccepted
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
    MAX_BATCH,
    UNKNOWN_TRANSFORMATION,
    DatasetKey,
    JobKey,
    _ColumnEdge,
    _Event,
)


class _Transformation(msgspec.Struct, gc=False):
    type: str | None = None
    subtype: str | None = None
    provenance: str | None = None


class _InputField(msgspec.Struct, gc=False):
    namespace: str | None = None
    name: str | None = None
    field: str | None = None
    transformations: list[_Transformation] | None = None


class _FieldEntry(msgspec.Struct, gc=False):
    input_fields: list[_InputField] | None = msgspec.field(default=None, name="inputFields")


class _ColumnLineage(msgspec.Struct, gc=False):
    fields: dict[str, _FieldEntry] | None = None
    dataset: list[_InputField] | None = None


class _Identifier(msgspec.Struct, gc=False):
    namespace: str | None = None
    name: str | None = None


class _Symlinks(msgspec.Struct, gc=False):
    identifiers: list[_Identifier] | None = None


class _InputFacets(msgspec.Struct, gc=False):
    # null is not "absent" for a facet the lean parser reads: it refuses it, so does this.
    symlinks: _Symlinks | UnsetType = UNSET


class _OutputFacets(msgspec.Struct, gc=False):
    symlinks: _Symlinks | UnsetType = UNSET
    column_lineage: _ColumnLineage | UnsetType = msgspec.field(default=UNSET, name="columnLineage")


class _Input(msgspec.Struct, gc=False):
    namespace: str | None = None
    name: str | None = None
    # Left out: none; null is refused (the schema says object), so the slow path names it.
    facets: _InputFacets | UnsetType = UNSET


class _Output(msgspec.Struct, gc=False):
    namespace: str | None = None
    name: str | None = None
    facets: _OutputFacets | UnsetType = UNSET


class _ErrorMessage(msgspec.Struct, gc=False):
    message: str | None = None


class _RunFacets(msgspec.Struct, gc=False):
    error_message: _ErrorMessage | UnsetType = msgspec.field(default=UNSET, name="errorMessage")


class _Run(msgspec.Struct, gc=False):
    run_id: str | None = msgspec.field(default=None, name="runId")
    facets: _RunFacets | UnsetType = UNSET


class _Job(msgspec.Struct, gc=False):
    namespace: str | None = None
    name: str | None = None


class _EventView(msgspec.Struct, gc=False):
    event_type: str | None = msgspec.field(default=None, name="eventType")
    event_time: str | None = msgspec.field(default=None, name="eventTime")
    run: _Run | None = None
    job: _Job | None = None
    inputs: list[_Input] | None = None
    outputs: list[_Output] | None = None


_ONE = msgspec.json.Decoder(_EventView)
_MANY = msgspec.json.Decoder(list[_EventView])

_ViewMemo = dict[DatasetKey, tuple[_ColumnLineage, list[_ColumnEdge]]]
_MEMO_LIMIT = 20_000
_view_memo: _ViewMemo = {}
"""Per output dataset, the last columnLineage view read and its edges; the same idea (and the same
thread-safety argument) as the lean parser's memo. Structs compare field by field, in C."""

_EVENT_TYPE_SET = frozenset(EVENT_TYPES)


def read_events(raw: bytes, *, batch: bool) -> list[_Event] | None:
    """The events of a body (a JSON array when ``batch``, else one object), or None when the fast
    path does not take it as it is: the caller then decodes it whole and names the problem."""
    if not raw.isascii():
        try:
            # JSON is UTF-8; the skipped parts are not checked by msgspec, and must be here.
            raw.decode()
        except UnicodeDecodeError:
            return None
    try:
        views = _MANY.decode(raw) if batch else [_ONE.decode(raw)]
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    if len(views) > MAX_BATCH:
        return None
    if len(_view_memo) > _MEMO_LIMIT:
        _view_memo.clear()
    try:
        return [_event(view, _view_memo) for view in views]
    except (_Unaccepted, ValueError, OverflowError):
        return None


def _name(value: str | None, limit: int) -> str:
    if value is None or not value or len(value) > limit or "\x00" in value:
        raise _Unaccepted
    return value


def _event(view: _EventView, memo: _ViewMemo) -> _Event:
    kind = view.event_type
    if kind is None or kind not in _EVENT_TYPE_SET:
        raise _Unaccepted
    text = view.event_time
    if text is None:
        raise _Unaccepted
    moment = datetime.fromisoformat(text)  # Value/OverflowError: the explaining parser names it
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    run = view.run
    if run is None:
        raise _Unaccepted
    run_id = _name(run.run_id, _RUN_ID)
    error = None
    if not isinstance(run.facets, UnsetType) and not isinstance(
        run.facets.error_message, UnsetType
    ):
        error = _name(run.facets.error_message.message, sys.maxsize)
    job = view.job
    if job is None:
        raise _Unaccepted
    job_key = JobKey(_name(job.namespace, _JOB_PART), _name(job.name, _JOB_PART))
    inputs = [
        (_key(item.namespace, item.name), _logical(item.facets)) for item in view.inputs or ()
    ]
    outputs = []
    edges: list[list[_ColumnEdge]] = []
    for output in view.outputs or ():
        key = _key(output.namespace, output.name)
        facets = output.facets
        outputs.append((key, _logical(facets)))
        if isinstance(facets, UnsetType) or isinstance(facets.column_lineage, UnsetType):
            continue
        facet = facets.column_lineage
        seen = memo.get(key)
        if seen is not None and seen[0] == facet:
            edges.append(seen[1])
            continue
        found: list[_ColumnEdge] = []
        if facet.fields is not None:
            for column, entry in facet.fields.items():
                _name(column, _COLUMN)
                _edges(found, key, column, entry.input_fields)
        _edges(found, key, "", facet.dataset)
        memo[key] = (facet, found)
        edges.append(found)
    return _Event(kind, moment, run_id, job_key, error, inputs, outputs, edges, event_type=kind)


def _key(namespace: str | None, name: str | None) -> DatasetKey:
    return DatasetKey(_name(namespace, _DATASET_NAMESPACE), _name(name, _DATASET_NAME))


def _logical(facets: _InputFacets | _OutputFacets | UnsetType) -> str | None:
    if isinstance(facets, UnsetType) or isinstance(facets.symlinks, UnsetType):
        return None
    logical = None
    for identifier in facets.symlinks.identifiers or ():
        namespace = _name(identifier.namespace, sys.maxsize)
        name = _name(identifier.name, _LOGICAL_NAME)
        if namespace == LOGICAL_NAMESPACE and logical is None:
            logical = name
    return logical


def _edges(
    edges: list[_ColumnEdge], output: DatasetKey, column: str, items: list[_InputField] | None
) -> None:
    # The hot loop, as in the lean parser: the checks are written out.
    for source in items or ():
        namespace, name, field_name = source.namespace, source.name, source.field
        if (
            namespace is None
            or not namespace
            or len(namespace) > _DATASET_NAMESPACE
            or "\x00" in namespace
            or name is None
            or not name
            or len(name) > _DATASET_NAME
            or "\x00" in name
            or field_name is None
            or not field_name
            or len(field_name) > _COLUMN
            or "\x00" in field_name
        ):
            raise _Unaccepted
        key = DatasetKey(namespace, name)
        steps = source.transformations
        if not steps:
            edges.append(
                (
                    (output, column, key, field_name, ""),
                    (UNKNOWN_TRANSFORMATION, DEFAULT_PROVENANCE),
                )
            )
            continue
        for step in steps:
            kind, subtype, provenance = step.type, step.subtype, step.provenance
            if kind is None or not kind or len(kind) > _TYPE or "\x00" in kind:
                raise _Unaccepted
            if subtype is None:
                subtype = ""
            elif len(subtype) > _SUBTYPE or "\x00" in subtype:
                raise _Unaccepted
            if not provenance:
                provenance = DEFAULT_PROVENANCE
            elif len(provenance) > _PROVENANCE or "\x00" in provenance:
                raise _Unaccepted
            edges.append(((output, column, key, field_name, subtype), (kind, provenance)))
