"""The platform's one client of the governance service (HTTP only, as the design requires).

It registers zones, domains and products from the specs (``meshlake governance sync``), asks for the
publication decision on a staged product, records the committed versions, and tells which version
of a port the catalog last published (what readers read).

A service that cannot be reached, times out or answers 5xx raises :class:`GovernanceUnavailable`;
the publish path then commits nothing (fail closed). A 503 is retried after its Retry-After, briefly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml

from meshlake.platform._errors import MeshlakeError
from meshlake.platform._ids import PortRef
from meshlake.platform._locations import port_location, zone_root
from meshlake.platform.quality._quarantine_table import quarantine_description
from meshlake.platform.specs import InputBinding, Mesh, PortSpec, ProductSpec

if TYPE_CHECKING:
    from meshlake.platform._materialize import PortResult, PreparedProduct
    from meshlake.platform._sharing import ReadTerms

_BUSY_RETRIES = 3
_LONGEST_RETRY_AFTER = 5.0


class GovernanceError(MeshlakeError):
    """The governance service refused or failed a request; the message carries its reason."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"governance {method} {path} -> {status}: {detail}")


class GovernanceUnavailable(GovernanceError):
    """The service could not be reached or could not answer (connection, timeout, 5xx)."""


@dataclass(frozen=True)
class Reason:
    policy: str
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.policy} [{self.severity}]: {self.message}"


@dataclass(frozen=True)
class Decision:
    """Governance's answer on a staged product: commit it or not, and why."""

    id: int
    allowed: bool
    gate: str
    commit: bool
    reasons: tuple[Reason, ...]

    @property
    def denials(self) -> list[Reason]:
        return [reason for reason in self.reasons if reason.severity == "deny"]

    @property
    def warnings(self) -> list[Reason]:
        """What the run summary shows: warnings, and the denials a ``warn`` gate let through."""
        return (
            list(self.reasons)
            if self.gate == "warn"
            else [reason for reason in self.reasons if reason.severity != "deny"]
        )

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Decision:
        return cls(
            id=int(body["id"]),
            allowed=bool(body["allowed"]),
            gate=str(body.get("gate", "enforce")),
            commit=bool(body["commit"]),
            reasons=tuple(
                Reason(str(r.get("policy", "")), str(r.get("severity", "")), str(r.get("message")))
                for r in body.get("reasons", [])
            ),
        )


class GovernanceClient:
    """Calls the governance API at ``url`` with a bearer ``token``."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GovernanceClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, json: Any = None, params: Any = None) -> Any:
        for attempt in range(_BUSY_RETRIES + 1):
            try:
                response = self._http.request(method, path, json=json, params=params)
            except httpx.HTTPError as exc:
                raise GovernanceUnavailable(
                    method, path, 0, f"{self.url} cannot be reached ({type(exc).__name__}: {exc})"
                ) from exc
            if response.status_code != 503 or attempt == _BUSY_RETRIES:
                break
            time.sleep(_retry_after(response))
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            error = GovernanceUnavailable if response.status_code >= 500 else GovernanceError
            raise error(method, path, response.status_code, str(detail))
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

    def decide(self, prepared: PreparedProduct) -> Decision:
        """The publication decision on a staged product (nothing of it is committed yet)."""
        product = prepared.product
        body = {
            "run_id": prepared.run_id,
            "ports": [
                {
                    "port": port.spec.ref.port,
                    "contract_version": port.spec.contract.version,
                    "schema": [
                        {
                            "name": field.name,
                            "type": field.dataType.simpleString(),
                            "nullable": field.nullable,
                        }
                        for field in port.schema.fields
                    ],
                    "row_count": port.rows,
                    "quality": port.quality.summary() if port.quality is not None else {},
                }
                for port in prepared.ports
            ],
            "inputs": [
                {"port": str(binding.output), "version": prepared.input_versions[binding.name]}
                for binding in product.inputs
                if binding.output is not None and binding.name in prepared.input_versions
            ],
        }
        return Decision.from_json(self.request("POST", _product_path(product, "decisions"), body))

    def record(self, record: PublicationRecord) -> Any:
        """Record committed versions; governance reads the Delta log itself before it accepts."""
        return self.request("POST", record.path, record.body)

    def coverage(self, consumer: str, port: PortRef) -> ReadTerms:
        """The terms under which product ``consumer`` reads ``port``: AgreementMissing, with
        governance's reason, when no active sharing agreement covers the read."""
        from meshlake.platform._sharing import AgreementMissing, ReadTerms

        try:
            body = self.request(
                "GET",
                "/api/v1/agreements/coverage",
                params={"consumer": consumer, "port": str(port)},
            )
        except GovernanceUnavailable:
            raise
        except GovernanceError as exc:
            if exc.status == 404:
                raise AgreementMissing(f"{consumer}: {exc.detail}") from exc
            raise
        return ReadTerms.from_json(body)

    def published_version(self, ref: PortRef) -> int | None:
        """The Delta version of ``ref`` the catalog last published; None when none is."""
        try:
            body = self.request("GET", f"/api/v1/datasets/{ref}/published")
        except GovernanceError as exc:
            if exc.status == 404:
                return None
            raise
        return int(body["delta_version"])

    def post_for_bytes(self, path: str, json: Any, accept: str) -> tuple[bytes, httpx.Headers]:
        """POST ``json`` for a binary answer (e.g. an Arrow IPC stream): its body and headers.
        Refusals and failures raise as in :meth:`request`."""
        try:
            response = self._http.post(path, json=json, headers={"Accept": accept})
        except httpx.HTTPError as exc:
            raise GovernanceUnavailable(
                "POST", path, 0, f"{self.url} cannot be reached ({type(exc).__name__}: {exc})"
            ) from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            error = GovernanceUnavailable if response.status_code >= 500 else GovernanceError
            raise error("POST", path, response.status_code, str(detail))
        return response.content, response.headers


@dataclass(frozen=True)
class PublicationRecord:
    """What ``POST .../versions`` takes for one run of one product; kept in the outbox when the
    service cannot be reached after the commit."""

    path: str
    body: dict[str, Any]

    @classmethod
    def of(
        cls, product: ProductSpec, run_id: str, decision_id: int, results: list[PortResult]
    ) -> PublicationRecord:
        ports = [
            {
                "port": result.ref.port,
                "delta_version": result.version,
                "contract_version": product.ports[result.ref.port].contract.version,
                "row_count": result.rows,
                # The version of its quarantine table the run committed, verified the same way.
                **(
                    {
                        "quarantine": {
                            "delta_version": result.quarantine.version,
                            "row_count": result.quarantine.rows,
                        }
                    }
                    if result.quarantine is not None
                    else {}
                ),
            }
            for result in results
        ]
        body = {"run_id": run_id, "decision_id": decision_id, "ports": ports}
        return cls(_product_path(product, "versions"), body)


def _product_path(product: ProductSpec, tail: str) -> str:
    return f"/api/v1/products/{product.ref.domain}/{product.ref.name}/{tail}"


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        seconds = 1.0
    return max(0.0, min(seconds, _LONGEST_RETRY_AFTER))


def zone_payload(mesh: Mesh, name: str, state_home: Path) -> dict[str, Any]:
    zone = mesh.zones[name]
    return {
        "kind": zone.kind,
        "region": zone.region,
        "storage_root": zone_root(zone, state_home),
        "description": zone.description,
        # Which policies judge the zone's products (None: all); governance decides by them.
        "policies": list(zone.policies) if zone.policies is not None else None,
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
        "inputs": [_input_payload(binding) for binding in product.inputs],
        "ports": [
            {
                "name": name,
                "description": port.port.description,
                "location": port_location(product.zone, port.ref, state_home),
                # The contract as written (a YAML date becomes its ISO text, as in JSON).
                "contract": _published_contract(port),
                "quarantine": quarantine_description(
                    port, port_location(product.zone, port.ref, state_home)
                ),
            }
            for name, port in product.ports.items()
        ],
    }


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _published_contract(port: PortSpec) -> dict[str, Any]:
    """The port's contract as written, describing only the table the port publishes (a contract
    may describe several; the catalog keeps one per dataset)."""
    # libyaml's loader when PyYAML has it: the same values, and the pure-Python one was most of
    # the time of syncing a large mesh (one contract per port).
    document: dict[str, Any] = yaml.load(
        port.contract_file.read_text(encoding="utf-8"), Loader=_YAML_LOADER
    )
    tables = document.get("schema") or []
    if len(tables) > 1:
        document["schema"] = [
            item for item in tables if item.get("name") == port.contract.table.name
        ]
    return document


def _input_payload(binding: InputBinding) -> dict[str, Any]:
    """A declared input port: governance judges residency and alignment from these, not lineage."""
    if binding.output is not None:
        return {
            "name": binding.name,
            "kind": "product",
            "port": str(binding.output),
            "source": None,
            "domain": binding.output.domain,
        }
    assert binding.raw is not None
    return {
        "name": binding.name,
        "kind": "raw",
        "port": None,
        "source": binding.raw.source.id,
        "domain": binding.raw.domain.name,
    }
