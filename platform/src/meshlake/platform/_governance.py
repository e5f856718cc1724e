"""The platform's one client of the governance service (HTTP only, as the design requires).

It registers zones, domains and products from the specs (``meshlake governance sync``), and publishes
each materialization's new versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from meshlake.platform._errors import MeshlakeError
from meshlake.platform._locations import port_location, zone_root
from meshlake.platform._materialize import PortResult
from meshlake.platform.specs import Mesh, ProductSpec


class GovernanceError(MeshlakeError):
    """The governance service refused or failed a request; the message carries its reason."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        self.status = status
        super().__init__(f"governance {method} {path} -> {status}: {detail}")


class GovernanceClient:
    """Calls the governance API at ``url`` with a bearer ``token``."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GovernanceClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, json: Any = None, params: Any = None) -> Any:
        response = self._http.request(method, path, json=json, params=params)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise GovernanceError(method, path, response.status_code, str(detail))
        return response.json() if response.content else None

    def sync(self, mesh: Mesh, state_home: Path) -> list[str]:
        """Register every zone, domain and product of ``mesh``; returns the product refs."""
        for zone in mesh.zones.values():
            self.request(
                "PUT", f"/api/v1/zones/{zone.name}", zone_payload(mesh, zone.name, state_home)
            )
        for domain in mesh.domains.values():
            self.request("PUT", f"/api/v1/domains/{domain.name}", domain_payload(mesh, domain.name))
        for product in mesh.ordered():
            self.register(product, state_home)
        return [str(product.ref) for product in mesh.ordered()]

    def register(self, product: ProductSpec, state_home: Path) -> Any:
        path = f"/api/v1/products/{product.ref.domain}/{product.ref.name}"
        return self.request("PUT", path, product_payload(product, state_home))

    def publish(self, product: ProductSpec, published: list[PortResult], run_id: str | None) -> Any:
        ports = [
            {
                "port": result.ref.port,
                "delta_version": result.version,
                "row_count": result.rows,
                "contract_version": product.ports[result.ref.port].contract.version,
                "quality": result.quality.summary() if result.quality is not None else {},
            }
            for result in published
        ]
        path = f"/api/v1/products/{product.ref.domain}/{product.ref.name}/versions"
        return self.request("POST", path, {"run_id": run_id, "ports": ports})


def zone_payload(mesh: Mesh, name: str, state_home: Path) -> dict[str, Any]:
    zone = mesh.zones[name]
    return {
        "kind": zone.kind,
        "region": zone.region,
        "storage_root": zone_root(zone, state_home),
        "description": zone.description,
    }


def domain_payload(mesh: Mesh, name: str) -> dict[str, Any]:
    domain = mesh.domains[name]
    return {
        "zone": domain.landing_zone,
        "description": domain.description,
        "team": domain.team.name,
        "owners": domain.team.owners,
    }


def product_payload(product: ProductSpec, state_home: Path) -> dict[str, Any]:
    descriptor = product.descriptor
    team = descriptor.team or product.domain.team
    description = descriptor.description.purpose if descriptor.description else None
    return {
        "description": description,
        "status": descriptor.status,
        "tier": descriptor.tier,
        "team": team.name,
        "owners": team.owners,
        "tags": list(descriptor.tags),
        "ports": [
            {
                "name": name,
                "description": port.port.description,
                "location": port_location(product.zone, port.ref, state_home),
                # The contract as written (a YAML date becomes its ISO text, as in JSON).
                "contract": yaml.safe_load(port.contract_file.read_text(encoding="utf-8")),
            }
            for name, port in product.ports.items()
        ],
    }
