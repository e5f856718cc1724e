"""The loaded mesh: zones, domains, products, their ports and how they depend on each other."""

from __future__ import annotations

import functools
import graphlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from meshlake.platform._errors import MeshlakeError
from meshlake.platform._ids import PortRef, ProductRef
from meshlake.platform.specs._agreements import AgreementSpec
from meshlake.platform.specs._models import (
    Contract,
    Domain,
    InputPort,
    LandingZone,
    OutputPort,
    ProductDescriptor,
    RawSource,
    custom_property,
)


@dataclass(frozen=True)
class RawSourceSpec:
    """A raw source with the domain that declares it."""

    domain: Domain
    source: RawSource
    file: Path

    @property
    def generator_file(self) -> Path | None:
        return None if self.source.generator is None else self.file.parent / self.source.generator


@dataclass(frozen=True)
class PortSpec:
    """An output port and the contract that describes and promises it."""

    ref: PortRef
    port: OutputPort
    contract: Contract
    contract_file: Path
    transform_file: Path
    compiled: Any = field(default=None, compare=False, repr=False)
    """The contract's quality rules as the loader compiled them, with the contract they were
    compiled from (``(contract, CompiledContract)``, kept with the mesh in its cache), so that no
    later reader parses the contract file again for its rules' lines. A port copied with another
    contract (``dataclasses.replace``) no longer matches them and is compiled afresh."""

    @property
    def write_mode(self) -> str:
        return str(custom_property(self.port.custom_properties, "writeMode", "overwrite"))


@dataclass(frozen=True)
class InputBinding:
    """An input port resolved to what it reads: another product's output port or a raw source."""

    port: InputPort
    output: PortRef | None = None
    raw: RawSourceSpec | None = None

    @property
    def name(self) -> str:
        return self.port.name


@dataclass(frozen=True)
class ProductSpec:
    ref: ProductRef
    descriptor: ProductDescriptor
    file: Path
    domain: Domain
    zone: LandingZone
    ports: dict[str, PortSpec]
    inputs: list[InputBinding]

    @property
    def directory(self) -> Path:
        return self.file.parent

    @property
    def upstream(self) -> set[ProductRef]:
        return {binding.output.product_ref for binding in self.inputs if binding.output}

    @property
    def is_source_aligned(self) -> bool:
        return all(binding.raw is not None for binding in self.inputs)


class UnknownProductError(MeshlakeError):
    """A product or port name that the mesh does not have."""


@dataclass(frozen=True)
class Mesh:
    """Everything under domains/ and infra/, validated and cross-linked."""

    root: Path
    zones: dict[str, LandingZone]
    domains: dict[str, Domain]
    products: dict[ProductRef, ProductSpec]
    raw_sources: dict[str, RawSourceSpec] = field(default_factory=dict)
    agreements: dict[str, AgreementSpec] = field(default_factory=dict)  # by name

    def agreement_for(
        self, consumer_product: str | ProductRef, port_ref: str | PortRef, on: date
    ) -> AgreementSpec | None:
        """The agreement under which ``consumer_product`` may read ``port_ref`` on day ``on``.

        When several cover it, the one that runs longest (then the first by name), so that a
        caller naming it names the one that matters next."""
        product = (
            consumer_product
            if isinstance(consumer_product, ProductRef)
            else _parse_product(consumer_product)
        )
        port = port_ref if isinstance(port_ref, PortRef) else PortRef.parse(port_ref)
        covering = [
            spec
            for spec in self._agreements_by_consumer.get(product, ())
            if spec.port(port) is not None and spec.active_on(on)
        ]
        covering.sort(key=lambda spec: (-spec.agreement.end.toordinal(), spec.name))
        return covering[0] if covering else None

    @functools.cached_property
    def _agreements_by_consumer(self) -> dict[ProductRef, list[AgreementSpec]]:
        """Agreements by consuming product, in name order: validating a large mesh asks
        ``agreement_for`` once per cross-domain input, which scanned every agreement."""
        found: dict[ProductRef, list[AgreementSpec]] = {}
        for spec in self.agreements.values():
            consumer = spec.consumer_product
            if consumer is not None:
                found.setdefault(consumer, []).append(spec)
        return found

    def agreements_on(self, port_ref: PortRef) -> list[AgreementSpec]:
        """Every agreement that shares ``port_ref``, whoever the consumer and whatever the dates."""
        return [spec for spec in self.agreements.values() if spec.port(port_ref) is not None]

    def product(self, name: str | ProductRef) -> ProductSpec:
        ref = name if isinstance(name, ProductRef) else _parse_product(name)
        if ref not in self.products:
            known = ", ".join(sorted(str(key) for key in self.products))
            raise UnknownProductError(f"no product {str(ref)!r} in the mesh; known: {known}")
        return self.products[ref]

    def port(self, ref: PortRef) -> PortSpec:
        product = self.product(ref.product_ref)
        if ref.port not in product.ports:
            raise UnknownProductError(
                f"product {product.ref} has no output port {ref.port!r}; "
                f"it has {', '.join(product.ports)}"
            )
        return product.ports[ref.port]

    @property
    def ports(self) -> list[PortSpec]:
        return [port for product in self.ordered() for port in product.ports.values()]

    def ordered(self, selection: Iterable[str | ProductRef] | None = None) -> list[ProductSpec]:
        """Products in dependency order (inputs first); all of them, or just ``selection``."""
        chosen = (
            set(self.products)
            if selection is None
            else {self.product(item).ref for item in selection}
        )
        sorter = graphlib.TopologicalSorter(
            {ref: self.products[ref].upstream for ref in self.products}
        )
        # static_order is deterministic for a given insertion order; products are sorted by name.
        return [self.products[ref] for ref in sorter.static_order() if ref in chosen]

    def downstream(self, ref: ProductRef) -> list[ProductSpec]:
        """Products that read ``ref``, directly or through others, in dependency order."""
        found: set[ProductRef] = set()
        frontier = {ref}
        while frontier:
            readers = {
                product.ref
                for product in self.products.values()
                if product.upstream & frontier and product.ref not in found
            }
            found |= readers
            frontier = readers
        return [product for product in self.ordered() if product.ref in found]


def _parse_product(name: str) -> ProductRef:
    try:
        return ProductRef.parse(name)
    except ValueError as exc:
        raise UnknownProductError(str(exc)) from exc
