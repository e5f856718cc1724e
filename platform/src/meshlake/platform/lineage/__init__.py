"""Lineage: column lineage of transforms, and OpenLineage run events with their transport.

Names load on first use (openlineage-python and sqlglot take a second to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshlake.platform._lazy import lazy_exports

if TYPE_CHECKING:
    from meshlake.platform.lineage._columns import DATASET_LEVEL as DATASET_LEVEL
    from meshlake.platform.lineage._columns import ColumnEdge as ColumnEdge
    from meshlake.platform.lineage._columns import (
        declared_column_lineage as declared_column_lineage,
    )
    from meshlake.platform.lineage._columns import sql_column_lineage as sql_column_lineage
    from meshlake.platform.lineage._emit import EVENTS_FILE as EVENTS_FILE
    from meshlake.platform.lineage._emit import LineageEmitter as LineageEmitter
    from meshlake.platform.lineage._emit import read_events as read_events
    from meshlake.platform.lineage._errors import LineageError as LineageError
    from meshlake.platform.lineage._events import PRODUCER as PRODUCER
    from meshlake.platform.lineage._events import product_run_event as product_run_event
    from meshlake.platform.lineage._naming import DatasetName as DatasetName
    from meshlake.platform.lineage._naming import (
        UnsupportedLocationError as UnsupportedLocationError,
    )
    from meshlake.platform.lineage._naming import dataset_name as dataset_name
    from meshlake.platform.lineage._product import input_schemas as input_schemas
    from meshlake.platform.lineage._product import port_column_lineage as port_column_lineage
    from meshlake.platform.lineage._product import product_column_lineage as product_column_lineage

_PUBLIC = {
    "DATASET_LEVEL": "_columns",
    "ColumnEdge": "_columns",
    "declared_column_lineage": "_columns",
    "sql_column_lineage": "_columns",
    "EVENTS_FILE": "_emit",
    "LineageEmitter": "_emit",
    "read_events": "_emit",
    "LineageError": "_errors",
    "PRODUCER": "_events",
    "product_run_event": "_events",
    "DatasetName": "_naming",
    "UnsupportedLocationError": "_naming",
    "dataset_name": "_naming",
    "input_schemas": "_product",
    "port_column_lineage": "_product",
    "product_column_lineage": "_product",
}

__all__ = sorted(_PUBLIC)

__getattr__ = lazy_exports(
    __name__, {name: f"{__name__}.{module}" for name, module in _PUBLIC.items()}
)
