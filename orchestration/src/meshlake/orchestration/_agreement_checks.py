"""Each sharing agreement's SLA as a Dagster asset check on the port it covers, so the UI shows,
beside the contract's checks, whether each consumer gets what it was promised.

The check asks governance to measure the agreement now (``POST /agreements/{name}/sla/evaluate``):
the evidence is kept there and a breach opens its incident there; the check shows the terms, met
or missed, as its metadata. It warns and never blocks: a consumer's SLA says nothing about whether
the data may be published. Outside a run it measures on demand from the UI.
"""

# No `from __future__ import annotations`: Dagster reads the check function's real type hints.

from datetime import date

import dagster as dg

from meshlake.orchestration._keys import port_key
from meshlake.orchestration._resources import MeshlakeResource
from meshlake.platform import GovernanceClient, GovernanceError, PortRef
from meshlake.platform.specs import AgreementSpec, Mesh

CHECK_PREFIX = "sla_"


def check_name(agreement: str) -> str:
    """The Dagster name of an agreement's SLA check (Dagster names take no hyphen)."""
    return CHECK_PREFIX + agreement.replace("-", "_")


def agreement_checks(
    mesh: Mesh, zones: set[str] | None = None, today: date | None = None
) -> list[dg.AssetChecksDefinition]:
    """An SLA check per agreement in force (not expired ``today``) and port, for the ports the
    ``zones`` host (all by default): an expired agreement owes no SLA."""
    today = today or date.today()
    checks = []
    for spec in sorted(mesh.agreements.values(), key=lambda item: item.name):
        if spec.expired_on(today):
            continue
        for ref in spec.port_refs:
            zone = mesh.product(ref.product_ref).zone.name
            if zones is None or zone in zones:
                checks.append(_check(spec, ref, zone))
    return checks


def _check(spec: AgreementSpec, ref: PortRef, zone: str) -> dg.AssetChecksDefinition:
    name = spec.name
    consumer = spec.agreement.consumer

    @dg.asset_check(
        asset=port_key(ref),
        name=check_name(name),
        description=(
            f"SLA of sharing agreement {name} ({consumer.kind} {consumer.id}, for "
            f"{spec.agreement.purpose}), measured by governance"
        ),
        blocking=False,
    )
    def agreement_sla(meshlake: MeshlakeResource) -> dg.AssetCheckResult:
        settings = meshlake.settings
        if settings.governance_url is None:
            return _warn(f"no governance service to measure agreement {name} with")
        token = settings.governance_token_for(zone)
        try:
            with GovernanceClient(str(settings.governance_url), token) as client:
                run = client.request("POST", f"/api/v1/agreements/{name}/sla/evaluate")
        except GovernanceError as exc:
            return _warn(f"agreement {name} was not measured: {exc.detail}")
        found = [item for item in run["evaluations"] if item["port"] == str(ref)]
        if not found:  # not active (awaiting approval, revoked, expired): it owes no SLA now
            return dg.AssetCheckResult(
                passed=True,
                description=f"agreement {name} is not active in governance: no SLA is owed",
            )
        evaluation = found[0]
        missed = [item for item in evaluation["results"] if item["status"] == "missed"]
        return dg.AssetCheckResult(
            passed=bool(evaluation["met"]),
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(item["detail"] for item in missed) or "every term met",
            metadata={
                item["property"]: f"{item['status']}: {item['measured'] or '-'} "
                f"(promised {item['promised'] or '-'})"
                for item in evaluation["results"]
            },
        )

    return agreement_sla


def _warn(description: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, description=description
    )
