"""The one publish path: every way of publishing a product (``meshlake materialize``, ``meshlake
run``, the Dagster assets, Python) goes through :class:`Publisher`.

For one product: lineage START; the inputs read at the versions the catalog published (or pinned
ones); transform, conform, stage and check every port (``Materializer.prepare``); governance's
decision on the staged product; one Delta commit per port; governance records the versions after
reading the Delta log itself; lineage COMPLETE. Governance decides, the platform obeys: a deny, or a
service that cannot be reached, commits nothing and removes the staged files (fail closed). Any
exception fails the product (a FAIL event with the message, the catalog untouched), never the run:
products that do not depend on it go on.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from meshlake.platform._errors import MeshlakeError
from meshlake.platform._governance import (
    Decision,
    GovernanceClient,
    GovernanceUnavailable,
    PublicationRecord,
)
from meshlake.platform._lease import writer_lease
from meshlake.platform._outbox import Outbox
from meshlake.platform._prepared import PortResult, ProductEngine, new_run_id
from meshlake.platform._sharing import ReadTerms
from meshlake.platform.lineage import ColumnEdge, LineageEmitter, LineageError
from meshlake.platform.quality import QualityError, QualityReport
from meshlake.platform.specs import Mesh, ProductSpec

log = logging.getLogger(__name__)

ClientFor = Callable[[ProductSpec], GovernanceClient]
"""The governance client a product publishes with (its landing zone's service principal)."""


class PublicationDenied(MeshlakeError):
    """Governance decided not to publish; nothing was committed."""

    def __init__(self, product: str, decision: Decision) -> None:
        self.decision = decision
        listed = "\n".join(f"  - {reason}" for reason in decision.denials or decision.reasons)
        super().__init__(
            f"{product}: governance denied the publication (decision {decision.id}); nothing was "
            f"committed, the previous version stays:\n{listed}"
        )


class GovernanceUnreachable(MeshlakeError):
    """Publication failed closed: governance could not be asked, so nothing was committed."""


@dataclass(frozen=True)
class ProductResult:
    """The outcome of one product's publication within a run."""

    product: str
    status: str  # "published", "failed" or "skipped"
    run_id: str
    seconds: float = 0.0
    ports: list[PortResult] = field(default_factory=list)
    error: str | None = None
    quality: list[QualityReport] = field(default_factory=list)
    """Every checked port's report, also of a blocked or failed run."""
    gate: str | None = None
    """``enforce`` or ``warn``: how governance's gate judged this publication."""
    warnings: list[str] = field(default_factory=list)
    """Policy warnings (and, under a ``warn`` gate, the denials it let through)."""
    recorded: bool = True
    """False when the commit is done but the catalog record waits in the outbox."""
    column_lineage: dict[str, list[ColumnEdge]] = field(default_factory=dict)
    """The column edges by output port that the lineage events carried."""
    engine: str = ""
    """The engine the product ran on (``spark`` or ``duckdb``); "" when it did not run."""

    @property
    def ok(self) -> bool:
        return self.status == "published"


class Publisher:
    """Publishes products of one mesh: stage, decide, commit, record, with lineage around it."""

    def __init__(
        self,
        mesh: Mesh,
        materializer: ProductEngine,
        governance: ClientFor,
        emitters: Callable[[ProductSpec], LineageEmitter],
        state_home: Path,
        column_lineage: Callable[[ProductSpec], dict[str, list[ColumnEdge]]] | None = None,
    ) -> None:
        self.mesh = mesh
        self.materializer = materializer
        self.governance = governance
        self.emitters = emitters
        self.state_home = state_home
        self.outbox = Outbox(state_home)
        self._column_lineage = column_lineage or self._declared_lineage
        self._replayed = False

    def replay_outbox(self) -> None:
        """Send the records an earlier run could not (once per publisher); log each outcome."""
        if self._replayed:
            return
        self._replayed = True
        for item in self.outbox.replay(lambda ref: self.governance(self.mesh.product(ref))):
            log.info("outbox %s %s: %s %s", item.product, item.run_id, item.outcome, item.detail)

    def publish(self, product: ProductSpec, run_id: str | None = None) -> ProductResult:
        """Publish ``product`` now; a failure of any kind is its failed result, never raised."""
        run_id = run_id or new_run_id()
        started = time.perf_counter()
        edges = self._edges(product)
        engine = self._engine_for(product)
        self._emit("START", product, run_id, edges, engine=engine)
        try:
            self.replay_outbox()
            with (
                product_lock(self.state_home, str(product.ref)),
                writer_lease(product.zone, str(product.ref), run_id, self.state_home),
            ):
                ports, decision, recorded = self._publish(product, run_id)
        except Exception as exc:  # every failure is this product's failure (see the module doc)
            reports = _reports_of(exc, self.materializer)
            message = str(exc) if isinstance(exc, MeshlakeError) else _unexpected(product, exc)
            self._emit(
                "FAIL", product, run_id, edges, engine=engine, error=message, quality=reports
            )
            return ProductResult(
                str(product.ref),
                "failed",
                run_id,
                time.perf_counter() - started,
                error=message,
                quality=reports,
                gate=exc.decision.gate if isinstance(exc, PublicationDenied) else None,
                engine=engine,
            )
        self._emit("COMPLETE", product, run_id, edges, engine=engine, published=ports)
        return ProductResult(
            str(product.ref),
            "published",
            run_id,
            time.perf_counter() - started,
            ports,
            quality=[port.quality for port in ports if port.quality is not None],
            gate=decision.gate,
            warnings=[str(reason) for reason in decision.warnings],
            recorded=recorded,
            column_lineage=edges,
            engine=engine,
        )

    def _engine_for(self, product: ProductSpec) -> str:
        """The engine ``product`` runs on; a choice that cannot be made is Spark's (the publication
        itself then says what is wrong)."""
        try:
            return self.materializer.engine_for(product)
        except Exception as exc:
            log.warning("%s: no engine chosen, Spark assumed: %s", product.ref, exc)
            return "spark"

    def publish_all(
        self,
        products: list[ProductSpec],
        progress: Callable[[int, int, ProductResult], None] | None = None,
        on_start: Callable[[int, int, ProductSpec], None] | None = None,
    ) -> list[ProductResult]:
        """Publish ``products`` in the given (dependency) order; a failure skips its dependents."""
        failed: set[str] = set()
        outcomes: list[ProductResult] = []
        for index, product in enumerate(products, start=1):
            if on_start is not None:
                on_start(index, len(products), product)
            blocked = sorted(str(ref) for ref in product.upstream if str(ref) in failed)
            if blocked:
                outcome = ProductResult(
                    str(product.ref),
                    "skipped",
                    new_run_id(),
                    error=f"upstream failed: {', '.join(blocked)}",
                )
            else:
                outcome = self.publish(product)
            if not outcome.ok:
                failed.add(str(product.ref))
            outcomes.append(outcome)
            if progress is not None:
                progress(index, len(products), outcome)
        return outcomes

    def _publish(
        self, product: ProductSpec, run_id: str
    ) -> tuple[list[PortResult], Decision, bool]:
        client = self.governance(product)
        terms = self._read_terms(client, product)
        versions = self._input_versions(client, product)
        prepared = self.materializer.prepare(product, run_id, versions, terms)
        try:
            try:
                decision = client.decide(prepared)
            except GovernanceUnavailable as exc:
                raise GovernanceUnreachable(
                    f"{product.ref}: publication failed closed, nothing was committed: {exc}"
                ) from exc
            if not decision.commit:
                raise PublicationDenied(str(product.ref), decision)
            ports = self.materializer.commit(prepared)
        finally:
            prepared.release()
        record = PublicationRecord.of(product, run_id, decision.id, ports)
        try:
            client.record(record)
        except GovernanceUnavailable as exc:
            where = self.outbox.put(str(product.ref), record)
            log.warning(
                "%s: committed, but the catalog record waits in %s: %s", product.ref, where, exc
            )
            return ports, decision, False
        return ports, decision, True

    def _read_terms(self, client: GovernanceClient, product: ProductSpec) -> dict[str, ReadTerms]:
        """The sharing agreement's terms of each input on another domain's port, by input name.

        Asked before anything is read: a product without an active agreement for such an input
        fails here (AgreementMissing names it), and so does one whose governance cannot answer.
        """
        terms: dict[str, ReadTerms] = {}
        for binding in product.inputs:
            if binding.output is None or binding.output.domain == product.ref.domain:
                continue
            try:
                terms[binding.name] = client.coverage(str(product.ref), binding.output)
            except GovernanceUnavailable as exc:
                raise GovernanceUnreachable(
                    f"{product.ref}: cannot learn whether an agreement lets it read "
                    f"{binding.output}, so nothing was read or written: {exc}"
                ) from exc
        return terms

    def _input_versions(self, client: GovernanceClient, product: ProductSpec) -> dict[str, int]:
        """The version each product input reads: its pin, else the catalog's last published one."""
        versions: dict[str, int] = {}
        for binding in product.inputs:
            if binding.output is None:
                continue
            if binding.port.pinned_version is not None:
                versions[binding.name] = binding.port.pinned_version
                continue
            try:
                version = client.published_version(binding.output)
            except GovernanceUnavailable as exc:
                raise GovernanceUnreachable(
                    f"{product.ref}: cannot learn which version of {binding.output} is published, "
                    f"so nothing was read or written: {exc}"
                ) from exc
            if version is None:
                raise MeshlakeError(
                    f"{product.ref}: input port {binding.name!r} reads {binding.output}, which has no "
                    "published version in the catalog yet; publish it first (--upstream)"
                )
            versions[binding.name] = version
        return versions

    def _edges(self, product: ProductSpec) -> dict[str, list[ColumnEdge]]:
        """Column lineage by port; a transform the parser cannot follow costs lineage, not the run."""
        try:
            return self._column_lineage(product)
        except Exception as exc:
            log.warning("%s: no column lineage: %s: %s", product.ref, type(exc).__name__, exc)
            return {}

    def _declared_lineage(self, product: ProductSpec) -> dict[str, list[ColumnEdge]]:
        from meshlake.platform.lineage import product_column_lineage

        try:
            return product_column_lineage(self.mesh, product)
        except LineageError as exc:
            log.warning("%s: no column lineage: %s", product.ref, exc)
            return {}

    def _emit(
        self,
        event_type: str,
        product: ProductSpec,
        run_id: str,
        edges: dict[str, list[ColumnEdge]],
        **extra: object,
    ) -> None:
        from meshlake.platform.lineage import product_run_event

        try:
            event = product_run_event(
                event_type,
                mesh=self.mesh,
                product=product,
                run_id=run_id,
                state_home=self.state_home,
                column_lineage=edges,
                **extra,  # type: ignore[arg-type]
            )
        except LineageError as exc:  # lineage describes the run; it never fails it
            log.warning("%s: no %s lineage event: %s", product.ref, event_type, exc)
            return
        self.emitters(product).emit(event)


@contextmanager
def product_lock(state_home: Path, product: str) -> Iterator[None]:
    """One publication of ``product`` at a time on this machine (CLI and Dagster runs alike)."""
    folder = state_home / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{product}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reports_of(exc: BaseException, materializer: ProductEngine) -> list[QualityReport]:
    if isinstance(exc, QualityError):
        return list(exc.reports)
    return list(materializer.last_reports)


def _unexpected(product: ProductSpec, exc: BaseException) -> str:
    from meshlake.platform._errors import spark_error_summary

    return (
        f"{product.ref}: failed unexpectedly, nothing was published ({type(exc).__name__}: "
        f"{spark_error_summary(exc)})"
    )
