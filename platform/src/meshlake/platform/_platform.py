"""The platform facade: what the CLI calls and what a Python user calls, the same functions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from meshlake.platform._ids import PortRef
from meshlake.platform._locations import port_location
from meshlake.platform._settings import Settings, get_settings
from meshlake.platform.specs import Mesh, ProductSpec, ValidationReport, load_mesh, validate_mesh

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from meshlake.platform._materialize import PortResult, ProductResult
    from meshlake.platform._raw import RawDrop


class Platform:
    """One project (domains/ and infra/) with its state folder and, when needed, Spark.

    >>> platform = Platform()
    >>> results = platform.materialize(["hr.employees"])
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    @cached_property
    def root(self) -> Path:
        return self.settings.project_root()

    @cached_property
    def state_home(self) -> Path:
        return self.settings.state_home()

    def validate(self) -> ValidationReport:
        return validate_mesh(self.root)

    @cached_property
    def mesh(self) -> Mesh:
        return load_mesh(self.root)

    def spark(self) -> SparkSession:
        from meshlake.platform._spark import spark_session

        masters = {zone.spark_master for zone in self.mesh.zones.values() if zone.kind == "data"}
        # The embedded default runs every zone in one local session; a cluster per zone comes with
        # one code location per zone (orchestration).
        master = masters.pop() if len(masters) == 1 else None
        return spark_session(self.settings, master)

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

    def materialize_product(self, name: str, run_id: str | None = None) -> list[PortResult]:
        """Publish one product now; raise MeshlakeError (nothing written) if it cannot be."""
        from meshlake.platform._materialize import Materializer

        materializer = Materializer(
            self.mesh, self.spark(), self.state_home, validator=self.settings.quality_validator
        )
        return materializer.materialize(self.mesh.product(name), run_id)

    def materialize(
        self,
        products: Iterable[str] | None = None,
        with_upstream: bool = False,
        progress: Callable[[int, int, ProductResult], None] | None = None,
        on_start: Callable[[int, int, ProductSpec], None] | None = None,
    ) -> list[ProductResult]:
        """Materialize products (all by default) in dependency order; failures skip dependents."""
        from meshlake.platform._materialize import Materializer, materialize_all

        plan = self.plan(products, with_upstream)
        materializer = Materializer(
            self.mesh, self.spark(), self.state_home, validator=self.settings.quality_validator
        )
        return materialize_all(materializer, plan, progress, on_start)
