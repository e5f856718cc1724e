"""The lineage store: OpenLineage events in; table graphs, column graphs, impact, runs and the
events as received out.

Ingest is set-based so that a batch of thousands of events costs a handful of statements: the events
are validated and folded in Python first (jobs, datasets, runs, IO and column edges, each once), the
rows already stored are looked up, and what is new is written with one bulk ``INSERT ... ON
CONFLICT`` per table. Every write is an upsert whose result does not depend on the order of the
events, so the same event sent twice (HTTP transports retry) changes nothing, and a COMPLETE that
overtakes its START still leaves the run COMPLETE.

Graph queries walk a frontier: one set-based query per hop (never one per node), with the visited
set kept in Python so cycles and diamonds cost nothing extra.
"""

from meshlake.governance.services._lineage._events import EventPage as EventPage
from meshlake.governance.services._lineage._events import StoredEvent as StoredEvent
from meshlake.governance.services._lineage._events import stored_events as stored_events
from meshlake.governance.services._lineage._gc import gc_paused as gc_paused
from meshlake.governance.services._lineage._graph import graph as graph
from meshlake.governance.services._lineage._graph import resolve_datasets as resolve_datasets
from meshlake.governance.services._lineage._graph import resolve_jobs as resolve_jobs
from meshlake.governance.services._lineage._impact import impact as impact
from meshlake.governance.services._lineage._ingest import ingest as ingest
from meshlake.governance.services._lineage._ingest import ingest_body as ingest_body
from meshlake.governance.services._lineage._model import DEFAULT_PROVENANCE as DEFAULT_PROVENANCE
from meshlake.governance.services._lineage._model import EVENT_TYPES as EVENT_TYPES
from meshlake.governance.services._lineage._model import LOGICAL_NAMESPACE as LOGICAL_NAMESPACE
from meshlake.governance.services._lineage._model import MAX_BATCH as MAX_BATCH
from meshlake.governance.services._lineage._model import MAX_DEPTH as MAX_DEPTH
from meshlake.governance.services._lineage._model import DatasetKey as DatasetKey
from meshlake.governance.services._lineage._model import DatasetRef as DatasetRef
from meshlake.governance.services._lineage._model import Edge as Edge
from meshlake.governance.services._lineage._model import Graph as Graph
from meshlake.governance.services._lineage._model import Impact as Impact
from meshlake.governance.services._lineage._model import ImpactedColumn as ImpactedColumn
from meshlake.governance.services._lineage._model import IngestResult as IngestResult
from meshlake.governance.services._lineage._model import JobKey as JobKey
from meshlake.governance.services._lineage._model import JobRef as JobRef
from meshlake.governance.services._lineage._model import Node as Node
from meshlake.governance.services._lineage._model import RunInfo as RunInfo
from meshlake.governance.services._lineage._retention import prune_now as prune_now
from meshlake.governance.services._lineage._retention import prune_when_due as prune_when_due
from meshlake.governance.services._lineage._runs import runs as runs
from meshlake.governance.services._lineage._validate import json_kind as json_kind
from meshlake.governance.services._lineage._validate import parse_event as parse_event
