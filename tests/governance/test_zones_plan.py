"""Landing zones as code: `meshlake zones plan` and `apply` against a real governance service.

The tests of this module share one service (per database), so each starts by applying its own
mesh; the test that leaves a zone holding products runs last."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from meshlake.governance._zones import (
    TOKEN_LIFETIME_DAYS,
    ZonesError,
    apply_zones,
    plan_zones,
    token_file,
    zone_policies,
)
from meshlake.governance.policies import SHIPPED_POLICIES
from meshlake.platform import GovernanceClient
from meshlake.platform.specs import load_mesh, validate_mesh
from tests.governance.conftest import BOOTSTRAP, Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

TOPOLOGIES = REPO / "infra" / "topologies"


def _copy(topology: str, tmp_path: Path) -> Path:
    root = tmp_path / topology
    shutil.copytree(TOPOLOGIES / topology, root)
    return root


def _zones(service: Service) -> dict[str, dict[str, object]]:
    with service.client() as client:
        return {zone["name"]: zone for zone in client.get("/api/v1/zones").json()}


def _actions(plan: object) -> set[tuple[str, str, str]]:
    return {(c.group, c.action, c.target) for c in plan.changes}  # type: ignore[attr-defined]


def test_apply_creates_every_group_and_a_second_plan_changes_nothing(
    service: Service, tmp_path: Path
) -> None:
    mesh = load_mesh(REPO)
    home = tmp_path / "home"
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        first = plan_zones(client, mesh, home)
        assert {
            ("catalog", "create", "emea"),
            ("catalog", "create", "americas"),
            ("catalog", "create", "governance"),
            ("principals", "create", "zone-service-emea"),
            ("code locations", "create", "emea"),
            ("storage", "create", str(home / "lake" / "emea" / "hr")),
        } <= _actions(first)
        assert not (home / "lake").exists(), "planning changes nothing"

        applied = apply_zones(client, mesh, home)
        again = plan_zones(client, mesh, home)

    assert applied.changes == first.changes
    assert again.changes == [] and not again.changed
    zones = _zones(service)
    assert zones["americas"]["region"] == "eastus"
    assert zones["emea"]["storage_root"] == str(home / "lake" / "emea")
    assert (home / "lake" / "americas" / "sales").is_dir()
    workspace = yaml.safe_load((home / "dagster" / "workspace.yaml").read_text())
    assert [entry["python_module"]["location_name"] for entry in workspace["load_from"]] == [
        "americas",
        "emea",
    ]
    secret_file = token_file(home, "emea")
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    # The stored secret is a working token of the zone's principal, with its zone grant.
    with service.client(secret_file.read_text().strip()) as zone_client:
        principal = zone_client.get("/api/v1/principals/zone-service-emea").json()
    grants = [{k: v for k, v in grant.items() if v is not None} for grant in principal["grants"]]
    assert grants == [{"role": "zone_service", "zone": "emea"}]


def test_an_edited_zone_plans_one_update_and_a_new_code_location_name(
    service: Service, tmp_path: Path
) -> None:
    root = _copy("hub", tmp_path)
    home = tmp_path / "home"
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        apply_zones(client, load_mesh(root), home)
        spoke = root / "infra" / "landing-zones" / "spoke_sales.yaml"
        spoke.write_text(
            spoke.read_text().replace("region: westeurope", "region: northeurope")
            + "codeLocation: sales-spoke\n"
        )
        mesh = load_mesh(root)
        plan = plan_zones(client, mesh, home)
        assert _actions(plan) == {
            ("catalog", "update", "spoke_sales"),
            ("code locations", "create", "sales-spoke"),
            ("code locations", "remove", "spoke_sales"),
        }
        update = next(change for change in plan.changes if change.group == "catalog")
        assert update.detail == "region: 'westeurope' -> 'northeurope'"
        apply_zones(client, mesh, home)
        assert plan_zones(client, mesh, home).changes == []
    assert _zones(service)["spoke_sales"]["region"] == "northeurope"
    # The hub zone's own principal and code location names are used.
    with service.client() as admin:
        hub = admin.get("/api/v1/principals/hub-publisher")
    assert hub.status_code == 200
    workspace = yaml.safe_load((home / "dagster" / "workspace.yaml").read_text())
    assert "shared-hub" in {
        entry["python_module"]["location_name"] for entry in workspace["load_from"]
    }


def test_a_token_close_to_expiry_is_rotated_and_the_old_one_stops(
    service: Service, tmp_path: Path
) -> None:
    root = _copy("one-zone", tmp_path)
    home = tmp_path / "home"
    mesh = load_mesh(root)
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        apply_zones(client, mesh, home)
        old = token_file(home, "lake").read_text().strip()
        later = datetime.now(UTC) + timedelta(days=TOKEN_LIFETIME_DAYS - 5)
        plan = plan_zones(client, mesh, home, now=later)
        assert _actions(plan) == {("principals", "rotate", "zone-service-lake")}
        apply_zones(client, mesh, home, now=later)
        assert plan_zones(client, mesh, home).changes == []
    new = token_file(home, "lake").read_text().strip()
    assert new != old
    with service.client(old) as stale, service.client(new) as fresh:
        assert stale.get("/api/v1/principals/zone-service-lake").status_code == 401
        assert fresh.get("/api/v1/principals/zone-service-lake").status_code == 200


def test_a_cloud_storage_root_is_registered_but_not_created(
    service: Service, tmp_path: Path
) -> None:
    root = _copy("one-zone", tmp_path)
    lake = root / "infra" / "landing-zones" / "lake.yaml"
    lake.write_text(
        lake.read_text().replace("storageRoot: lake/lake", "storageRoot: s3a://bucket/lake")
    )
    home = tmp_path / "home"
    mesh = load_mesh(root)
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        plan = plan_zones(client, mesh, home)
        assert [c.target for c in plan.changes if c.group == "storage"] == [
            str(home / "lake" / "governance")
        ]
        assert plan.notes == [
            "zone lake: storage s3a://bucket/lake is a URI, created by its cloud set-up"
        ]
        apply_zones(client, mesh, home)
        assert plan_zones(client, mesh, home).changes == []
    assert _zones(service)["lake"]["storage_root"] == "s3a://bucket/lake"


def test_a_zone_gone_from_the_files_is_removed_with_its_grant(
    service: Service, tmp_path: Path
) -> None:
    root = _copy("source-consumer-aligned", tmp_path)
    home = tmp_path / "home"
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        apply_zones(client, load_mesh(root), home)
        secret = token_file(home, "consumers").read_text().strip()
        (root / "infra" / "landing-zones" / "consumers.yaml").unlink()
        shutil.rmtree(root / "domains" / "marketing")
        mesh = load_mesh(root)
        plan = plan_zones(client, mesh, home)
        assert {
            ("catalog", "remove", "consumers"),
            ("principals", "remove grant", "zone-service-consumers"),
            ("code locations", "remove", "consumers"),
        } == _actions(plan)
        apply_zones(client, mesh, home)
        assert plan_zones(client, mesh, home).changes == []
    assert "consumers" not in _zones(service)
    with service.client(secret) as revoked:
        assert revoked.get("/api/v1/principals/zone-service-consumers").status_code == 401


def test_only_an_admin_removes_a_zone(service: Service) -> None:
    member = service.token("zones-member@example.com", grants=[{"role": "consumer"}])
    with service.client(member) as client:
        response = client.delete("/api/v1/zones/governance")
    assert response.status_code == 403
    with service.client() as admin:
        assert admin.delete("/api/v1/zones/no_such_zone").status_code == 404


def _meshlake(service: Service, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``meshlake`` command in a process of its own, against ``service``."""
    env = {
        **os.environ,
        "MESHLAKE_GOVERNANCE_URL": service.url,
        "MESHLAKE_GOVERNANCE_TOKEN": BOOTSTRAP,
        "MESHLAKE_HOME": str(home),
    }
    code = "from meshlake.platform.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plan_exit_codes_follow_detailed_exitcode(service: Service, tmp_path: Path) -> None:
    root = _copy("one-zone", tmp_path)

    def meshlake(*args: str) -> subprocess.CompletedProcess[str]:
        return _meshlake(service, tmp_path / "home", *args)

    planned = meshlake("zones", "plan", "--root", str(root))
    assert planned.returncode == 2, planned.stderr
    assert "catalog:" in planned.stdout and "create lake" in planned.stdout
    applied = meshlake("zones", "apply", "--root", str(root))
    assert applied.returncode == 0, applied.stderr
    settled = meshlake("zones", "plan", "--root", str(root), "--json")
    assert settled.returncode == 0, settled.stderr
    assert '"changed": false' in settled.stdout


def test_zone_files_say_what_is_wrong_with_file_line_and_field(tmp_path: Path) -> None:
    root = _copy("one-zone", tmp_path)
    zones = root / "infra" / "landing-zones"
    lake = zones / "lake.yaml"
    lake.write_text(
        lake.read_text().replace("compute: local[2]", "compute: yarn") + "policies: [Publication]\n"
    )
    governance = zones / "governance.yaml"
    governance.write_text(
        governance.read_text() + "sparkMaster: local[2]\ncompute: sc://connect.example:15002\n"
    )

    problems = {f"{p.file}:{p.line}: {p.field}": p.message for p in validate_mesh(root).problems}

    lines = lake.read_text().splitlines()
    compute_line = lines.index("compute: yarn") + 1
    policy_line = lines.index("policies: [Publication]") + 1
    assert "spark://host:port" in problems[f"infra/landing-zones/lake.yaml:{compute_line}: compute"]
    assert (
        "publication.residency"
        in problems[f"infra/landing-zones/lake.yaml:{policy_line}: policies[0]"]
    )
    assert "disagree" in problems["infra/landing-zones/governance.yaml:9: compute"]


def test_two_zones_never_share_a_code_location(tmp_path: Path) -> None:
    root = _copy("hub", tmp_path)
    spoke = root / "infra" / "landing-zones" / "spoke_sales.yaml"
    spoke.write_text(spoke.read_text() + "codeLocation: shared-hub\n")
    line = len(spoke.read_text().splitlines())
    problems = {f"{p.file}:{p.line}: {p.field}": p.message for p in validate_mesh(root).problems}
    assert problems == {
        f"infra/landing-zones/spoke_sales.yaml:{line}: codeLocation": "'shared-hub' is also zone "
        "'hub''s codeLocation; give each zone its own"
    }


def test_older_zone_files_keep_working_and_compute_names_the_spark_master(tmp_path: Path) -> None:
    mesh = load_mesh(REPO)
    emea = mesh.zones["emea"]
    assert (emea.spark_master, emea.compute_kind) == ("local[*]", "local")
    assert (emea.location_name, emea.principal, emea.policies) == (
        "emea",
        "zone-service-emea",
        None,
    )
    root = _copy("one-zone", tmp_path)
    lake = root / "infra" / "landing-zones" / "lake.yaml"
    lake.write_text(lake.read_text().replace("local[2]", "sc://connect.example:15002"))
    zone = load_mesh(root).zones["lake"]
    assert (zone.spark_master, zone.compute_kind) == ("sc://connect.example:15002", "connect")


def test_an_unknown_policy_is_refused_and_a_decision_names_all_of_its_policies(
    tmp_path: Path,
) -> None:
    root = _copy("source-consumer-aligned", tmp_path)
    mesh = load_mesh(root)
    applied = zone_policies(mesh, SHIPPED_POLICIES)
    assert applied["consumers"] and all(
        policy.split(".")[0] in ("publication", "sharing") for policy in applied["consumers"]
    )
    assert "sharing.residency" in applied["consumers"]
    assert "access.classified_data" in applied["sources"]
    zone = root / "infra" / "landing-zones" / "consumers.yaml"
    zone.write_text(zone.read_text().replace("- sharing", "- sharing.no_such_policy"))
    with pytest.raises(ZonesError, match=r"consumers.yaml:\d+: policies\[1\]: no policy"):
        zone_policies(load_mesh(root), SHIPPED_POLICIES)


def test_apply_registers_each_zones_policies_and_plans_a_change_of_them(
    service: Service, tmp_path: Path
) -> None:
    root = _copy("source-consumer-aligned", tmp_path)
    home = tmp_path / "home"
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        apply_zones(client, load_mesh(root), home)
        registered = _zones(service)
        zone = root / "infra" / "landing-zones" / "consumers.yaml"
        zone.write_text(zone.read_text().replace("- sharing\n", ""))
        mesh = load_mesh(root)
        plan = plan_zones(client, mesh, home)
        apply_zones(client, mesh, home)
        again = plan_zones(client, mesh, home)

    # The service judges the zone's products by what it registered (tests/governance/policies).
    assert registered["consumers"]["policies"] == ["publication", "sharing"]
    assert registered["sources"]["policies"] is None  # declares none: every policy
    assert [change.as_dict() for change in plan.changes] == [
        {
            "group": "policies",
            "action": "update",
            "target": "consumers",
            "detail": "publication, sharing -> publication",
        }
    ]
    assert again.changes == []
    assert _zones(service)["consumers"]["policies"] == ["publication"]


def test_removing_a_zone_that_holds_products_is_refused_naming_them(
    service: Service, tmp_path: Path
) -> None:
    root = _copy("regional", tmp_path)
    home = tmp_path / "home"
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        mesh = load_mesh(root)
        apply_zones(client, mesh, home)
        client.sync(mesh, home)  # registers the products: the zones now hold them
        (root / "infra" / "landing-zones" / "apac.yaml").unlink()
        shutil.rmtree(root / "domains" / "support")
        smaller = load_mesh(root)
        plan = plan_zones(client, smaller, home)
        assert plan.refused and "support.staff_by_region" in plan.refused[0]
        with pytest.raises(ZonesError, match=r"still holds products: support\.staff_by_region"):
            apply_zones(client, smaller, home)
    assert "apac" in _zones(service), "a refused apply changes nothing"
    planned = _meshlake(service, home, "zones", "plan", "--root", str(root))
    assert planned.returncode == 1
    assert "still holds products: support.staff_by_region" in " ".join(planned.stdout.split())
    assert "remove grant" not in planned.stdout
    with service.client() as admin:
        response = admin.delete("/api/v1/zones/apac")
    assert response.status_code == 409
    assert "support.staff_by_region" in response.json()["detail"]
