"""The platform facade: what the CLI calls and what a Python user calls, the same functions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from meshlake.platform._errors import ConfigurationError
from meshlake.platform._ids import PortRef
from meshlake.platform._locations import port_location
from meshlake.platform._settings import Settings, get_settings
from meshlake.platform.specs import (
    MESH_CACHE_DIR,
    Mesh,
    ProductSpec,
    ValidationReport,
    load_mesh,
    validate_mesh,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from meshlake.platform._governance import GovernanceClient
    from meshlake.platform._materialize import Materializer
    from meshlake.platform._per_zone import SparkPerZone
    from meshlake.platform._publish import ProductResult, Publisher
    from meshlake.platform._raw import RawDrop
    from meshlake.platform.lineage import LineageEmitter


class Platform:
    """One project (domains/ and infra/) with its state folder and, when needed, Spark.

    >>> platform = Platform()  # MESHLAKE_GOVERNANCE_URL and a token name the governance service
    >>> results = platform.publish(["hr.employees"])
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._clients: dict[str, GovernanceClient] = {}

    @cached_property
    def root(self) -> Path:
        return self.settings.project_root()

    @cached_property
    def state_home(self) -> Path:
        return self.settings.state_home()

    def validate(self) -> ValidationReport:
        return validate_mesh(self.root, cache=self.state_home / MESH_CACHE_DIR)

    @cached_property
    def mesh(self) -> Mesh:
        return load_mesh(self.root, cache=self.state_home / MESH_CACHE_DIR)

    def spark(self, product: ProductSpec | None = None) -> SparkSession:
        """The Spark session ``product`` runs on: its zone's compute (MESHLAKE_SPARK_MASTER
        overrides every zone). Without a product: the data zones' compute when they all name the
        same one, else local Spark."""
        from meshlake.platform._spark import spark_session

        return spark_session(self.settings, self.compute(product))

    def compute(self, product: ProductSpec | None = None) -> str:
        """Where Spark runs for ``product`` (see ``spark``): ``local[*]``, ``spark://...`` or
        ``sc://...``."""
        from meshlake.platform._spark import compute_of

        if product is not None:
            return compute_of(self.settings, product.zone.spark_master)
        masters = {zone.spark_master for zone in self.mesh.zones.values() if zone.kind == "data"}
        return compute_of(self.settings, masters.pop() if len(masters) == 1 else None)

    def start_spark_early(self, plan: Iterable[ProductSpec]) -> bool:
        """Start Spark in the background when ``plan`` holds a product that runs on it, so the
        start overlaps the products before it (see ``_spark_warmup``); True if started."""
        from meshlake.platform._spark_warmup import start_spark_early

        return start_spark_early(self, plan) is not None

    def location(self, ref: PortRef) -> str:
        return port_location(self.mesh.product(ref.product_ref).zone, ref, self.state_home)

    def missing_drops(self, products: Iterable[ProductSpec]) -> list[str]:
        """Raw sources that ``products`` read and that have no drop yet."""
        from meshlake.platform._raw import has_drop, raw_source_location

        needed = {
            binding.raw.source.id: binding.raw
            for p in products
            for binding in p.inputs
            if binding.raw
        }
        return sorted(
            source_id
            for source_id, source in needed.items()
            if not has_drop(raw_source_location(self.mesh, source, self.state_home))
        )

    def ingest(
        self,
        scale: float | None = None,
        only: Iterable[str] | None = None,
        progress: Callable[[RawDrop], None] | None = None,
    ) -> list[RawDrop]:
        """Drop the synthetic raw files of every raw source (or those in ``only``)."""
        from meshlake.platform._raw import generate_raw

        chosen_scale = self.settings.scale if scale is None else scale
        return generate_raw(
            self.mesh, self.state_home, chosen_scale, self.settings.seed, only, progress
        )

    def plan(
        self, products: Iterable[str] | None = None, with_upstream: bool = False
    ) -> list[ProductSpec]:
        """Products to materialize, in dependency order."""
        selected = None if products is None else list(products)
        if selected and with_upstream:
            closure: set[str] = set()
            frontier = [self.mesh.product(name).ref for name in selected]
            while frontier:
                ref = frontier.pop()
                if str(ref) not in closure:
                    closure.add(str(ref))
                    frontier.extend(self.mesh.products[ref].upstream)
            selected = sorted(closure)
        return self.mesh.ordered(selected)

    def export_suites(self, product: str, port: str | None = None) -> str | None:
        """The Great Expectations suites of a product's ports as JSON; None when it has no rules.

        One port gives one suite object; a whole product gives a list of them.
        """
        import json

        from meshlake.platform.quality._rules import compiled_rules
        from meshlake.platform.quality._suite import build_suite

        spec = self.mesh.product(product)
        ports = [self.mesh.port(spec.ref.port(port))] if port else list(spec.ports.values())
        suites = [
            build_suite(str(item.ref), rules).to_json_dict()
            for item in ports
            if (rules := compiled_rules(item))
        ]
        if not suites:
            return None
        return json.dumps(suites[0] if port else suites, indent=2, sort_keys=True, default=str)

    def governance(self, product: ProductSpec) -> GovernanceClient:
        """The governance client ``product`` publishes with: its zone's service principal.

        Raises ConfigurationError without a governance URL: nothing is published ungoverned.
        """
        from meshlake.platform._governance import GovernanceClient

        url = self.settings.governance_url
        if not url:
            raise ConfigurationError(
                "no governance service: set MESHLAKE_GOVERNANCE_URL (and a token), or publish with "
                "`meshlake materialize` / `meshlake run`, which start the embedded one"
            )
        token = self.settings.governance_token_for(product.zone.name)
        if token not in self._clients:
            self._clients[token] = GovernanceClient(url, token)
        return self._clients[token]

    def lineage_emitter(self, product: ProductSpec) -> LineageEmitter:
        """Where ``product``'s OpenLineage events go: the OPENLINEAGE_* backend when one is set,
        else the governance service (as the product's zone) with a copy in the state folder's
        ``lineage/events.jsonl``, else that file alone."""
        from meshlake.platform.lineage import EVENTS_FILE, LineageEmitter

        if LineageEmitter.configured() or not self.settings.governance_url:
            return LineageEmitter.from_environment(self.state_home)
        token = self.settings.governance_token_for(product.zone.name)
        return LineageEmitter.over_http(
            self.settings.governance_url, token, journal=self.state_home / EVENTS_FILE
        )

    def publisher(self) -> Publisher:
        """The one publish path over this project (see meshlake.platform._publish)."""
        from meshlake.platform._duck import Engines
        from meshlake.platform._publish import Publisher

        def spark_materializer() -> SparkPerZone:
            # Made only when a product runs on Spark; each product's zone starts its session.
            from meshlake.platform._materialize import Materializer
            from meshlake.platform._per_zone import SparkPerZone

            def on(session: SparkSession) -> Materializer:
                validator = self.settings.quality_validator
                return Materializer(self.mesh, session, self.state_home, validator=validator)

            return SparkPerZone(self.spark, on)

        materializer = Engines(self.mesh, self.state_home, spark_materializer)
        emitters: dict[str, LineageEmitter] = {}

        def emitter_for(product: ProductSpec) -> LineageEmitter:
            zone = product.zone.name
            if zone not in emitters:
                emitters[zone] = self.lineage_emitter(product)
            return emitters[zone]

        return Publisher(self.mesh, materializer, self.governance, emitter_for, self.state_home)

    def publish_product(self, name: str, run_id: str | None = None) -> ProductResult:
        """Publish one product now, governed; its failure is in the result, never raised."""
        return self.publisher().publish(self.mesh.product(name), run_id)

    def publish(
        self,
        products: Iterable[str] | None = None,
        with_upstream: bool = False,
        progress: Callable[[int, int, ProductResult], None] | None = None,
        on_start: Callable[[int, int, ProductSpec], None] | None = None,
    ) -> list[ProductResult]:
        """Publish products (all by default) in dependency order; failures skip dependents."""
        plan = self.plan(products, with_upstream)
        self.start_spark_early(plan)  # overlaps the JVM's start with the DuckDB products
        return self.publisher().publish_all(plan, progress, on_start)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
