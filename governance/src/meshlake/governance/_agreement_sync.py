"""Agreements as code into governance: each file under ``domains/<domain>/agreements/`` becomes a
request, and one that names the providing owner who approved it in review (``approvedBy``) is
then approved, with that owner and the file as the reason. Governance judges both steps as it
judges any other request: a file the sharing policies deny stays requested, with their reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from meshlake.platform import GovernanceError

if TYPE_CHECKING:
    from meshlake.platform import GovernanceClient, Mesh
    from meshlake.platform.specs import AgreementSpec


@dataclass(frozen=True)
class SyncedAgreement:
    name: str
    state: str
    note: str | None = None
    """Why it is not where its file says it should be (not approved, terms changed)."""


def sync_agreements(client: GovernanceClient, mesh: Mesh) -> list[SyncedAgreement]:
    """Register every agreement of ``mesh`` not yet in governance, approve those approved in
    review; each with its state in governance and a note when something stays to do."""
    held, complete = _held(client)
    synced = []
    for name in sorted(mesh.agreements):
        spec = mesh.agreements[name]
        payload = agreement_payload(spec, mesh)
        found = held.get(name)
        if found is None:
            found = _get_or_request(client, name, payload, listed=complete)
        synced.append(_approve_if_reviewed(client, spec, found, payload))
    return synced


_LIST_LIMIT = 1000  # the most the list endpoint answers at once


def _held(client: GovernanceClient) -> tuple[dict[str, dict[str, Any]], bool]:
    """The agreements governance holds that the caller may see, by name, in one request (asking
    for each file's one by one was a third of the requests of syncing a large mesh); and whether
    that is all of them (a full page may have been cut short)."""
    listed = client.request("GET", "/api/v1/agreements", params={"limit": _LIST_LIMIT})
    return {str(item["name"]): item for item in listed}, len(listed) < _LIST_LIMIT


def _get_or_request(
    client: GovernanceClient, name: str, payload: dict[str, Any], *, listed: bool
) -> dict[str, Any]:
    """The agreement ``name`` as governance holds it, requested from the file when it has none.

    When the list was complete it is requested at once; a name taken anyway (an agreement the
    caller may not list) is then read as before."""
    if not listed:
        try:
            found: dict[str, Any] = client.request("GET", f"/api/v1/agreements/{name}")
            return found
        except GovernanceError as exc:
            if exc.status != 404:
                raise
    try:
        requested: dict[str, Any] = client.request("POST", "/api/v1/agreements", payload)
        return requested
    except GovernanceError as exc:
        if not listed or exc.status != 409:
            raise
    held: dict[str, Any] = client.request("GET", f"/api/v1/agreements/{name}")
    return held


def agreement_payload(spec: AgreementSpec, mesh: Mesh) -> dict[str, Any]:
    """The request body of an agreement file (the consumer's domain is its folder's)."""
    model = spec.agreement
    return {
        "name": model.name,
        "consumer": {
            "kind": model.consumer.kind,
            "id": model.consumer.id,
            **({} if model.consumer.kind == "product" else {"domain": spec.domain}),
        },
        "purpose": model.purpose,
        "legal_basis": model.legal_basis,
        "start": model.start.isoformat(),
        "end": model.end.isoformat(),
        "ports": [
            {
                "port": port.port,
                "columns": port.columns,
                "masked": port.masked,
                "rows": port.rows,
            }
            for port in model.ports
        ],
        "sla": [
            {
                key: value
                for key, value in (
                    ("property", item.property),
                    ("value", item.value),
                    ("unit", item.unit),
                    ("element", item.element),
                )
                if value is not None
            }
            for item in model.sla
        ],
        "source": str(spec.file.relative_to(mesh.root)),
    }


def _approve_if_reviewed(
    client: GovernanceClient, spec: AgreementSpec, found: dict[str, Any], payload: dict[str, Any]
) -> SyncedAgreement:
    name, state = spec.name, str(found["state"])
    if _terms(found) != _terms(payload):
        return SyncedAgreement(
            name,
            state,
            f"{payload['source']} differs from the agreement governance holds; an agreement's "
            "terms change by revoking it and requesting it again under a new name",
        )
    approver = spec.agreement.approved_by
    if state != "requested" or approver is None:
        note = "awaits the provider's approval" if state == "requested" else None
        return SyncedAgreement(name, state, note)
    decision = found.get("decision") or {}
    if not decision.get("allowed", False):
        reasons = "; ".join(
            r["message"] for r in decision.get("reasons", []) if r["severity"] == "deny"
        )
        return SyncedAgreement(name, state, f"the sharing policies deny it: {reasons}")
    reason = f"approved by {approver} in review ({payload['source']})"
    try:
        approved = client.request("POST", f"/api/v1/agreements/{name}/approve", {"reason": reason})
    except GovernanceError as exc:
        if exc.status not in (403, 409):
            raise
        return SyncedAgreement(name, state, f"not approved: {exc.detail}")
    return SyncedAgreement(name, str(approved["state"]))


def _terms(agreement: dict[str, Any]) -> tuple[Any, ...]:
    ports = [
        (
            port["port"],
            tuple(port["columns"]) if port.get("columns") else None,
            tuple(port.get("masked") or ()),
            tuple(
                sorted(
                    (column, tuple(values)) for column, values in (port.get("rows") or {}).items()
                )
            ),
        )
        for port in agreement["ports"]
    ]
    return (agreement["purpose"], agreement["start"], agreement["end"], tuple(ports))
