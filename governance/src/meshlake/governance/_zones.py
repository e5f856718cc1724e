"""Landing zones as code: what `meshlake zones plan` would change, and `apply` doing it.

The desired state is ``infra/landing-zones/*.yaml``; the actual state is read where it lives: the
storage folders on disk, the zones and service principals in governance (over its HTTP API, so a
remote service and the embedded one are treated alike), the Dagster workspace file, and the policy
folder. A plan is a list of changes grouped as the README shows them; applying a plan and planning
again gives no changes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from meshlake.governance._errors import GovernanceError as GovernanceFault
from meshlake.governance.policies import (
    DECISIONS,
    PolicySettings,
    UnknownPolicyError,
    select_policies,
)
from meshlake.platform import GovernanceError, is_uri, zone_payload, zone_root
from meshlake.platform.specs import (
    ZONE_SERVICE_PREFIX,
    code_locations,
    load_located_yaml,
    workspace_file,
)

if TYPE_CHECKING:
    from meshlake.platform import GovernanceClient, Mesh

GROUPS = ("storage", "catalog", "principals", "code locations", "policies")
"""The groups of a plan, in the order they are shown and applied (removals last)."""

TOKEN_DESCRIPTION = "meshlake zones apply: the service of landing zone "
"""Tokens that `apply` issues carry this description (and the zone), so that the plan judges only
its own tokens, not the short-lived ones a governed run issues at each start."""

TOKEN_LIFETIME_DAYS = 90
ROTATE_WITHIN = timedelta(days=14)
"""A zone's token is rotated when it expires within this, so a weekly apply never lets it lapse."""

ZONES_DIR = Path("infra") / "landing-zones"


@dataclass(frozen=True)
class Change:
    """One thing `apply` would do: ``action`` (create, update, rotate, remove, write) on
    ``target`` in ``group``, with what differs in ``detail``."""

    group: str
    action: str
    target: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "group": self.group,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
        }


@dataclass
class ZonePlan:
    """The changes that bring governance, storage and Dagster in line with the zone files.

    ``policies`` says which policies apply to which zone (a fact of the files, shown with every
    plan); ``refused`` names removals governance would refuse, so apply stops before doing
    anything."""

    changes: list[Change] = field(default_factory=list)
    policies: dict[str, list[str]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    all_policies: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def grouped(self) -> dict[str, list[Change]]:
        return {
            group: [change for change in self.changes if change.group == group] for group in GROUPS
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "changes": {
                group: [change.as_dict() for change in changes]
                for group, changes in self.grouped().items()
            },
            "policies": self.policies,
            "refused": self.refused,
            "notes": self.notes,
        }


class ZonesError(GovernanceFault):
    """A zone file or a plan that cannot be applied; the message names the file and the fix."""


def token_file(state_home: Path, zone: str) -> Path:
    """Where `apply` keeps the secret of a zone's token (readable by its owner only)."""
    return state_home / "zones" / f"{zone}.token"


def plan_zones(
    client: GovernanceClient,
    mesh: Mesh,
    state_home: Path,
    *,
    now: datetime | None = None,
    policies_dir: Path | None = None,
) -> ZonePlan:
    """What `apply` would change; reads everything, changes nothing."""
    now = now or datetime.now(UTC)
    plan = ZonePlan()
    folder = policies_dir or PolicySettings().resolved_dir()
    plan.all_policies = available_policies(folder)
    plan.policies = zone_policies(mesh, folder)
    _plan_storage(plan, mesh, state_home)
    catalog = {zone["name"]: zone for zone in client.request("GET", "/api/v1/zones")}
    _plan_catalog(plan, mesh, state_home, catalog)
    _plan_principals(plan, client, mesh, state_home, catalog, now)
    _plan_locations(plan, mesh, state_home)
    return plan


def apply_zones(
    client: GovernanceClient,
    mesh: Mesh,
    state_home: Path,
    *,
    now: datetime | None = None,
    policies_dir: Path | None = None,
) -> ZonePlan:
    """Plan, then carry the plan out through governance; returns the plan that was applied.

    Refused removals stop it before any change, naming the products the zone still holds."""
    plan = plan_zones(client, mesh, state_home, now=now, policies_dir=policies_dir)
    if plan.refused:
        raise ZonesError("; ".join(plan.refused))
    for change in plan.changes:
        _APPLY[change.group](change, client, mesh, state_home)
    return plan


# -- policies ----------------------------------------------------------------------------------


def available_policies(policies_dir: Path) -> list[str]:
    """Every policy of the folder as ``decision.policy`` (test modules left out)."""
    return sorted(
        f"{decision}.{file.stem}"
        for decision in DECISIONS
        for file in (policies_dir / decision).glob("*.rego")
        if not file.name.endswith("_test.rego")
    )


def zone_policies(mesh: Mesh, policies_dir: Path) -> dict[str, list[str]]:
    """Which policies apply to each zone: the ones its file names (a decision stands for all of
    its policies), or all; the service judges each zone's products by exactly these. An unknown
    name is refused with the file, line and what exists."""
    known = available_policies(policies_dir)
    applied: dict[str, list[str]] = {}
    for name, zone in sorted(mesh.zones.items()):
        try:
            applied[name] = select_policies(zone.policies, known)
        except UnknownPolicyError as exc:
            file = mesh.root / ZONES_DIR / f"{name}.yaml"
            line = load_located_yaml(file).line_of(("policies", exc.index)) if file.is_file() else 1
            raise ZonesError(
                f"{ZONES_DIR / (name + '.yaml')}:{line}: {exc} ({policies_dir})"
            ) from None
    return applied


# -- storage -----------------------------------------------------------------------------------


def _folders(mesh: Mesh, state_home: Path) -> list[tuple[str, Path]]:
    folders: list[tuple[str, Path]] = []
    for name, zone in sorted(mesh.zones.items()):
        root = zone_root(zone, state_home)
        if is_uri(root):
            continue
        folders.append((name, Path(root)))
        folders += [(name, Path(root) / domain) for domain in sorted(zone.domains)]
    return folders


def _plan_storage(plan: ZonePlan, mesh: Mesh, state_home: Path) -> None:
    for name, zone in sorted(mesh.zones.items()):
        root = zone_root(zone, state_home)
        if is_uri(root):
            plan.notes.append(f"zone {name}: storage {root} is a URI, created by its cloud set-up")
    for owner, folder in _folders(mesh, state_home):
        if not folder.is_dir():
            plan.changes.append(Change("storage", "create", str(folder), f"zone {owner}"))


def _apply_storage(change: Change, *_: Any) -> None:
    Path(change.target).mkdir(parents=True, exist_ok=True)


# -- catalog -----------------------------------------------------------------------------------


def _plan_catalog(
    plan: ZonePlan, mesh: Mesh, state_home: Path, catalog: dict[str, dict[str, Any]]
) -> None:
    for name in sorted(mesh.zones):
        wanted = zone_payload(mesh, name, state_home)
        have = catalog.get(name)
        if have is None:
            plan.changes.append(Change("catalog", "create", name, _describe(wanted)))
            continue
        differs = [
            f"{key}: {have.get(key)!r} -> {value!r}"
            for key, value in wanted.items()
            if key != "policies" and have.get(key) != value
        ]
        if differs:
            plan.changes.append(Change("catalog", "update", name, "; ".join(differs)))
        if have.get("policies") != wanted.get("policies"):
            plan.changes.append(
                Change(
                    "policies",
                    "update",
                    name,
                    f"{_policy_names(have.get('policies'))} -> "
                    f"{_policy_names(wanted.get('policies'))}",
                )
            )
    for name in sorted(set(catalog) - set(mesh.zones)):
        held = sorted(ref for refs in catalog[name]["domains"].values() for ref in refs)
        if held:
            plan.refused.append(
                f"landing zone {name!r} is gone from {ZONES_DIR} but still holds products: "
                f"{', '.join(held)}; move their domains to another zone or retire the products "
                "first"
            )
            continue
        domains = sorted(catalog[name]["domains"])
        detail = f"with its domains {', '.join(domains)}" if domains else "no domains"
        plan.changes.append(Change("catalog", "remove", name, detail))


def _policy_names(declared: list[str] | None) -> str:
    return "all policies" if declared is None else ", ".join(declared)


def _describe(payload: dict[str, Any]) -> str:
    return f"{payload['kind']}, {payload['region']}, {payload['storage_root']}"


def _apply_catalog(change: Change, client: GovernanceClient, mesh: Mesh, state_home: Path) -> None:
    if change.action == "remove":
        try:
            client.request("DELETE", f"/api/v1/zones/{change.target}")
        except GovernanceError as exc:
            raise ZonesError(exc.detail) from exc
        return
    client.request(
        "PUT", f"/api/v1/zones/{change.target}", zone_payload(mesh, change.target, state_home)
    )


# -- principals and tokens ---------------------------------------------------------------------


def _plan_principals(
    plan: ZonePlan,
    client: GovernanceClient,
    mesh: Mesh,
    state_home: Path,
    catalog: dict[str, dict[str, Any]],
    now: datetime,
) -> None:
    for name, zone in sorted(mesh.zones.items()):
        if zone.kind != "data":
            continue
        principal = _principal(client, zone.principal)
        if principal is None:
            plan.changes.append(
                Change("principals", "create", zone.principal, f"grant zone_service:{name}, token")
            )
            continue
        if {"role": "zone_service", "zone": name} not in _grants(principal):
            plan.changes.append(
                Change("principals", "update", zone.principal, f"add grant zone_service:{name}")
            )
        tokens = _apply_tokens(client, zone.principal, name)
        if not tokens or not token_file(state_home, name).is_file():
            why = (
                "no token of apply"
                if not tokens
                else f"no secret in {token_file(state_home, name)}"
            )
            plan.changes.append(Change("principals", "issue token", zone.principal, why))
            continue
        newest = max(tokens, key=lambda token: token["expires_at"] or "9999")
        expires = newest["expires_at"]
        if expires is not None and datetime.fromisoformat(expires) - now < ROTATE_WITHIN:
            plan.changes.append(
                Change(
                    "principals",
                    "rotate",
                    zone.principal,
                    f"token {newest['id']} expires {expires}",
                )
            )
    for name in sorted(set(catalog) - set(mesh.zones)):
        if any(ref for refs in catalog[name]["domains"].values() for ref in refs):
            continue  # its removal is refused: the zone keeps its principal
        principal_name = ZONE_SERVICE_PREFIX + name
        principal = _principal(client, principal_name)
        if principal is not None and {"role": "zone_service", "zone": name} in _grants(principal):
            plan.changes.append(
                Change(
                    "principals",
                    "remove grant",
                    principal_name,
                    f"zone_service:{name}, revoke its tokens",
                )
            )


def _principal(client: GovernanceClient, name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = client.request("GET", f"/api/v1/principals/{name}")
    except GovernanceError as exc:
        if exc.status == 404:
            return None
        raise
    return found


def _grants(principal: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {key: value for key, value in grant.items() if value is not None}
        for grant in principal.get("grants", [])
    ]


def _apply_tokens(client: GovernanceClient, principal: str, zone: str) -> list[dict[str, Any]]:
    listed = client.request(
        "GET", "/api/v1/tokens", params={"principal": principal, "active": "true", "limit": 1000}
    )
    return [token for token in listed if token.get("description") == TOKEN_DESCRIPTION + zone]


def _zone_of(mesh: Mesh, principal: str) -> str:
    for name, zone in mesh.zones.items():
        if zone.principal == principal:
            return name
    return principal.removeprefix(ZONE_SERVICE_PREFIX)


def _keep_secret(state_home: Path, zone: str, secret: str) -> None:
    file = token_file(state_home, zone)
    file.parent.mkdir(parents=True, exist_ok=True)
    # Created owner-only before the secret is written, never readable by others even briefly.
    descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(secret + "\n")


def _apply_principals(
    change: Change, client: GovernanceClient, mesh: Mesh, state_home: Path
) -> None:
    zone = _zone_of(mesh, change.target)
    if change.action == "remove grant":
        for token in _apply_tokens(client, change.target, zone):
            client.request("DELETE", f"/api/v1/tokens/{token['id']}")
        client.request(
            "DELETE",
            f"/api/v1/principals/{change.target}/grants",
            params={"role": "zone_service", "zone": zone},
        )
        token_file(state_home, zone).unlink(missing_ok=True)
        return
    if change.action == "rotate":
        tokens = _apply_tokens(client, change.target, zone)
        newest = max(tokens, key=lambda token: token["expires_at"] or "9999")
        rotated = client.request(
            "POST",
            f"/api/v1/tokens/{newest['id']}/rotate",
            {"expires_in_days": TOKEN_LIFETIME_DAYS},
        )
        _keep_secret(state_home, zone, rotated["token"])
        return
    if change.action == "issue token":
        # Older tokens of apply are revoked: the secret on disk is the one that works.
        for token in _apply_tokens(client, change.target, zone):
            client.request("DELETE", f"/api/v1/tokens/{token['id']}")
    issued = client.request(
        "POST",
        "/api/v1/principals",
        {
            "name": change.target,
            "kind": "service",
            "grants": [{"role": "zone_service", "zone": zone}],
            "token_description": TOKEN_DESCRIPTION + zone,
            "expires_in_days": TOKEN_LIFETIME_DAYS,
        },
    )
    _keep_secret(state_home, zone, issued["token"])


# -- code locations ----------------------------------------------------------------------------


def _current_locations(state_home: Path) -> dict[str, dict[str, Any]]:
    file = workspace_file(state_home)
    if not file.is_file():
        return {}
    document = yaml.safe_load(file.read_text()) or {}
    return {
        entry["python_module"]["location_name"]: entry["python_module"]
        for entry in document.get("load_from", [])
        if isinstance(entry, dict) and "python_module" in entry
    }


def _plan_locations(plan: ZonePlan, mesh: Mesh, state_home: Path) -> None:
    have = _current_locations(state_home)
    wanted = {
        entry["python_module"]["location_name"]: entry["python_module"]
        for entry in code_locations(mesh, mesh.root)
    }
    file = workspace_file(state_home)
    for name, entry in wanted.items():
        if name not in have:
            plan.changes.append(
                Change("code locations", "create", name, f"zone {entry['attribute']} in {file}")
            )
        elif have[name] != entry:
            plan.changes.append(
                Change("code locations", "update", name, f"zone {entry['attribute']} in {file}")
            )
    for name in sorted(set(have) - set(wanted)):
        plan.changes.append(Change("code locations", "remove", name, str(file)))


def _apply_locations(
    change: Change, client: GovernanceClient, mesh: Mesh, state_home: Path
) -> None:
    # The whole file is written from the zones, so one write settles every location change.
    file = workspace_file(state_home)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(yaml.safe_dump({"load_from": code_locations(mesh, mesh.root)}, sort_keys=False))


def _apply_policies(change: Change, client: GovernanceClient, mesh: Mesh, state_home: Path) -> None:
    # The zone's registration carries its policies: the service judges its products by them.
    _apply_catalog(change, client, mesh, state_home)


_APPLY = {
    "storage": _apply_storage,
    "catalog": _apply_catalog,
    "principals": _apply_principals,
    "code locations": _apply_locations,
    "policies": _apply_policies,
}


def plan_json(plan: ZonePlan) -> str:
    return json.dumps(plan.as_dict(), indent=2)
