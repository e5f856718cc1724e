"""Value types for the names that travel through meshlake: products and their output ports."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _check(kind: str, text: str, parts: list[str], expected: int) -> list[str]:
    if len(parts) != expected or not all(_NAME.match(part) for part in parts):
        shape = "domain.product" if expected == 2 else "domain.product.port"
        raise ValueError(f"{text!r} is not a {kind} reference; write it as {shape}")
    return parts


@dataclass(frozen=True, order=True)
class ProductRef:
    """A data product, written ``domain.product`` (``hr.employees``)."""

    domain: str
    name: str

    @classmethod
    def parse(cls, text: str) -> ProductRef:
        domain, name = _check("product", text, text.split("."), 2)
        return cls(domain, name)

    def port(self, name: str) -> PortRef:
        return PortRef(self.domain, self.name, name)

    def __str__(self) -> str:
        return f"{self.domain}.{self.name}"


@dataclass(frozen=True, order=True)
class PortRef:
    """An output port, written ``domain.product.port``; also its Dagster asset key."""

    domain: str
    product: str
    port: str

    @classmethod
    def parse(cls, text: str) -> PortRef:
        domain, product, port = _check("output port", text, text.split("."), 3)
        return cls(domain, product, port)

    @property
    def product_ref(self) -> ProductRef:
        return ProductRef(self.domain, self.product)

    @property
    def asset_key(self) -> list[str]:
        return [self.domain, self.product, self.port]

    def __str__(self) -> str:
        return f"{self.domain}.{self.product}.{self.port}"
