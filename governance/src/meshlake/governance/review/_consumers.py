"""Who a change hits: the governance catalog's column lineage when it answers, else the specs.

From the specs, the readers of a port are the products whose input ports bind to it; which of their
columns depend on a changed column comes from the column lineage of their transforms (sqlglot over
transform.sql, or the contract's declared ``transformSourceObjects``), computed on the base specs,
where the column still exists.
"""

from __future__ import annotations

from collections import defaultdict

import httpx

from meshlake.governance.review._changes import Change, Consumer
from meshlake.platform import PortRef
from meshlake.platform.lineage import DATASET_LEVEL, ColumnEdge, LineageError, port_column_lineage
from meshlake.platform.specs import Mesh, ProductSpec

UNKNOWN = "(column lineage unknown)"


class SpecConsumers:
    """Consumers from the base mesh's input ports and the column lineage of their transforms."""

    def __init__(self, base: Mesh | None) -> None:
        self.base = base
        self.readers: dict[PortRef, list[tuple[ProductSpec, str]]] = defaultdict(list)
        if base is not None:
            for product in base.products.values():
                for binding in product.inputs:
                    if binding.output is not None:
                        self.readers[binding.output].append((product, binding.name))
        self._lineage: dict[tuple[str, str], list[ColumnEdge] | None] = {}

    def of_port(self, ref: PortRef) -> list[Consumer]:
        return [Consumer(str(product.ref)) for product, _ in self.readers.get(ref, [])]

    def of_column(self, ref: PortRef, column: str) -> list[Consumer]:
        consumers = []
        for product, input_name in self.readers.get(ref, []):
            hit: list[str] = []
            known = False
            for port_name in product.ports:
                edges = self._edges(product, port_name)
                if edges is None:
                    continue
                mine = [edge for edge in edges if edge.input_port == input_name]
                known = known or bool(mine)
                for edge in mine:
                    if edge.input_column.lower() != column.lower():
                        continue
                    label = (
                        f"{port_name} (rows: {edge.subtype.lower()})"
                        if edge.output_column == DATASET_LEVEL
                        else f"{port_name}.{edge.output_column}"
                    )
                    if label not in hit:
                        hit.append(label)
            if hit:
                consumers.append(Consumer(str(product.ref), hit))
            elif not known:
                consumers.append(Consumer(str(product.ref), [UNKNOWN]))
        return consumers

    def _edges(self, product: ProductSpec, port_name: str) -> list[ColumnEdge] | None:
        key = (str(product.ref), port_name)
        if key not in self._lineage:
            assert self.base is not None
            try:
                self._lineage[key] = port_column_lineage(
                    self.base, product, product.ports[port_name]
                )
            except LineageError:
                self._lineage[key] = None
        return self._lineage[key]


class GovernanceConsumers:
    """Column impact from the governance service's lineage store (GET /api/v1/lineage/impact)."""

    def __init__(self, url: str, token: str | None, timeout: float = 5.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=timeout)

    def reachable(self) -> bool:
        try:
            return self.client.get("/api/v1/health").status_code == 200
        except httpx.HTTPError:
            return False

    def of_column(self, ref: PortRef, column: str) -> list[Consumer] | None:
        """Consumers by product with their columns; None when the service cannot say."""
        try:
            response = self.client.get(
                "/api/v1/lineage/impact", params={"dataset": str(ref), "column": column}
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        by_product: dict[str, list[str]] = defaultdict(list)
        for item in response.json().get("columns", []):
            logical = item.get("logical_name") or ""
            parts = logical.split(".")
            if len(parts) != 3 or logical == str(ref):
                continue
            product, port = ".".join(parts[:2]), parts[2]
            label = f"{port}.{item['column']}" if item.get("column") else f"{port} (rows)"
            if label not in by_product[product]:
                by_product[product].append(label)
        return [
            Consumer(product, columns, "governance")
            for product, columns in sorted(by_product.items())
        ]

    def close(self) -> None:
        self.client.close()


def attach_consumers(
    changes: list[Change], specs: SpecConsumers, governance: GovernanceConsumers | None
) -> None:
    """Fill ``consumers`` of every breaking change; column changes down to the column."""
    for change in changes:
        if not change.breaking or change.port is None:
            continue
        ref = PortRef.parse(f"{change.product}.{change.port}")
        if change.column is None:
            change.consumers = specs.of_port(ref)
            continue
        found: list[Consumer] | None = None
        if governance is not None:
            found = governance.of_column(ref, change.column)
        if not found:
            found = specs.of_column(ref, change.column)
        change.consumers = found
