"""The deployment files in infra/deploy/ validate: no container engine or cluster runs here, so the
compose file is checked against the Compose Specification's schema, the Helm chart is rendered by
Helm and its manifests validated against the Kubernetes schemas (kubernetes-validate, offline), and
the Dockerfiles are parsed and checked against the repository they build from."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from meshlake.platform import load_mesh
from meshlake.platform.specs import code_locations
from tests.helpers import REPO
from tests.infra._commands import problems_with_command
from tests.infra._helm import build_helm, find_helm

pytestmark = [pytest.mark.integration, pytest.mark.scale]

DEPLOY = REPO / "infra" / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
CHART = DEPLOY / "helm" / "meshlake"
DOCKERFILES = sorted((DEPLOY / "docker").glob("*.Dockerfile"))
COMPOSE_SCHEMA = REPO / "tests" / "fixtures" / "specs" / "compose-spec" / "compose-spec.json"
KUBERNETES_VERSION = kubernetes_validate.latest_version()
POSTGRES_VALUES = [
    "--set",
    "postgres.governanceUrl=postgresql://meshlake:pw@db.internal:5432/meshlake",
    "--set",
    "postgres.dagsterUrl=postgresql+psycopg2://meshlake:pw@db.internal:5432/dagster",
]
SERVICES = {
    "governance",
    "postgres",
    "dagster-webserver",
    "dagster-daemon",
    "spark-master",
    "spark-worker",
    "object-store",
}
PINNED = re.compile(r"^[a-z0-9./_-]+:(?!latest$)[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*$")
"""An image reference with a tag that names a version (a digit in it), never `latest`."""


# ---------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def compose_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_compose_file_validates_against_the_compose_specification(
    compose: dict[str, Any],
) -> None:
    assert compose_errors(compose) == []
    assert set(compose["services"]) == SERVICES


def test_the_compose_schema_rejects_a_broken_service(compose: dict[str, Any]) -> None:
    """The validation can fail: a misspelt key and a wrong type are both reported by path."""
    broken = copy.deepcopy(compose)
    broken["services"]["governance"]["healthcheck"]["retires"] = 3
    broken["services"]["postgres"]["ports"] = "5432"
    errors = compose_errors(broken)
    assert any(e.startswith("services/governance/healthcheck") and "retires" in e for e in errors)
    assert any(e.startswith("services/postgres/ports") for e in errors)


def test_every_service_runs_an_image_built_here_or_a_pinned_public_image(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        assert PINNED.match(service["image"]), f"{name}: image {service['image']} is not pinned"
        build = service.get("build")
        if build is None:
            continue
        context = (COMPOSE.parent / build["context"]).resolve()
        assert context == REPO, f"{name}: builds from {context}, not the repository root"
        dockerfile = context / build["dockerfile"]
        assert dockerfile in DOCKERFILES, f"{name}: {dockerfile} is not one of infra/deploy/docker/"


def _listening_ports(service: dict[str, Any]) -> set[int]:
    """The ports a service's process listens on: its command's --port/--webui-port, the
    container side of its published ports, and a Spark master's (or PostgreSQL's) default."""
    command = service.get("command") or []
    ports = {
        int(command[i + 1])
        for i, arg in enumerate(command[:-1])
        if arg in ("--port", "--webui-port", "-p")
    }
    ports |= {int(str(mapping).rsplit(":", 1)[-1]) for mapping in service.get("ports", [])}
    if service["image"].startswith("postgres:"):
        ports.add(5432)
    return ports


def test_health_checks_probe_the_ports_the_services_listen_on(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck")
        assert check, f"{name} has no health check"
        test = check["test"]
        assert test[0] == "CMD", f"{name}: the health check should be an exec form"
        for url in re.findall(r"https?://[^'\" ]+", " ".join(test)):
            port = urlsplit(url).port
            assert port in _listening_ports(service), f"{name}: {url} is not a port it listens on"
        for mapping in service.get("ports", []):
            host, _, container = str(mapping).rpartition(":")
            assert host.startswith("127.0.0.1:"), f"{name}: {mapping} should bind the loopback"
            assert int(container) in _listening_ports(service)
    readiness = " ".join(compose["services"]["governance"]["healthcheck"]["test"])
    assert "/readyz" in readiness


def test_services_reach_each_other_by_name_on_ports_that_listen(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for other, condition in (service.get("depends_on") or {}).items():
            assert other in services, f"{name} depends on an unknown service {other}"
            if condition.get("condition") == "service_healthy":
                assert services[other].get("healthcheck"), f"{other} has no health check"
        texts = [str(v) for v in (service.get("environment") or {}).values()]
        texts += [str(arg) for arg in service.get("command") or []]
        for text in texts:
            for url in re.findall(r"(?:https?|spark|postgresql(?:\+psycopg2)?)://\S+", text):
                parts = urlsplit(url)
                if parts.hostname in services:
                    listening = _listening_ports(services[parts.hostname])
                    assert parts.port in listening, f"{name}: {url} names a port that is closed"


def test_compose_commands_are_real_commands_of_the_workspace(compose: dict[str, Any]) -> None:
    built = {name: service for name, service in compose["services"].items() if "build" in service}
    assert set(built) >= {"governance", "dagster-webserver", "dagster-daemon", "spark-master"}
    problems = [
        f"{name}: {problem}"
        for name, service in built.items()
        for problem in problems_with_command(service["command"])
    ]
    checks = [s["healthcheck"]["test"][1:] for s in built.values()]
    problems += [p for argv in checks if argv[0] != "python" for p in problems_with_command(argv)]
    assert problems == []


def _documented_settings() -> set[str]:
    # The README before its deployment section: a setting is documented where it is explained.
    readme = (REPO / "README.md").read_text().split("## Scale-out deployment")[0]
    return set(re.findall(r"`(MESHLAKE_[A-Z_]+)`", readme))


def test_every_meshlake_setting_used_is_documented(compose: dict[str, Any]) -> None:
    used = set(re.findall(r"\bMESHLAKE_[A-Z_]+\b", COMPOSE.read_text()))
    for template in (CHART / "templates").glob("*"):
        used |= set(re.findall(r"\bMESHLAKE_[A-Z_]+\b", template.read_text()))
    assert used, "no MESHLAKE_ setting found: the files moved?"
    assert used - _documented_settings() == set()


# ---------------------------------------------------------------- Dockerfiles


def _stages(dockerfile: Path) -> list[list[dict[str, Any]]]:
    parser = DockerfileParser(str(dockerfile))
    stages: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _args(instruction: dict[str, Any]) -> list[str]:
    value = instruction["value"]
    return list(json.loads(value)) if value.lstrip().startswith("[") else shlex.split(value)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_dockerfile_is_multi_stage_pinned_frozen_and_non_root(dockerfile: Path) -> None:
    stages = _stages(dockerfile)
    assert len(stages) >= 2, "multi-stage: build, then a runtime without the build tools"
    for stage in stages:
        image = stage[0]["value"].split()[0]
        assert PINNED.match(image), f"base image {image} is not pinned by a version tag"
    runs = [i["value"] for stage in stages for i in stage if i["instruction"] == "RUN"]
    assert any("uv sync --frozen" in run for run in runs)
    users = [i["value"] for i in stages[-1] if i["instruction"] == "USER"]
    assert users, "the runtime stage sets no USER: it would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert (dockerfile.parent / f"{dockerfile.name}.dockerignore").is_file()


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_every_copy_source_exists_in_the_repository(dockerfile: Path) -> None:
    stage_names = {
        s[0]["value"].split()[-1] for s in _stages(dockerfile) if " AS " in s[0]["value"]
    }
    checked = 0
    for stage in _stages(dockerfile):
        for instruction in stage:
            if instruction["instruction"] not in ("COPY", "ADD"):
                continue
            args = _args(instruction)
            source_from = [a for a in args if a.startswith("--from=")]
            if source_from:
                assert source_from[0].split("=", 1)[1] in stage_names
                continue
            for source in [a for a in args if not a.startswith("--")][:-1]:
                assert (REPO / source).exists(), f"{dockerfile.name}: COPY {source}: no such path"
                checked += 1
    assert checked > 0


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_dockerfile_command_is_a_real_command_on_an_exposed_port(dockerfile: Path) -> None:
    runtime = _stages(dockerfile)[-1]
    (command,) = [_args(i) for i in runtime if i["instruction"] == "CMD"]
    assert problems_with_command(command) == []
    exposed = {int(p) for i in runtime if i["instruction"] == "EXPOSE" for p in i["value"].split()}
    port = int(command[command.index("--port") + 1])
    assert port in exposed
    for check in [i["value"] for i in runtime if i["instruction"] == "HEALTHCHECK"]:
        assert f"127.0.0.1:{port}/readyz" in check


def test_governance_image_installs_governance_alone() -> None:
    """The governance image's `uv sync` takes only meshlake-governance (no Spark, no Dagster): the
    same command tests/test_install_alone.py proves; here, that the image uses it."""
    (dockerfile,) = [d for d in DOCKERFILES if d.name == "governance.Dockerfile"]
    runs = [i["value"] for stage in _stages(dockerfile) for i in stage if i["instruction"] == "RUN"]
    (sync,) = [run for run in runs if "uv sync" in run]
    assert "--package meshlake-governance" in sync and "--no-dev" in sync
    copied = " ".join(
        i["value"] for stage in _stages(dockerfile) for i in stage if i["instruction"] == "COPY"
    )
    assert "domains/" not in copied and "orchestration/ " not in copied


def test_the_governance_build_stage_syncs_from_only_what_it_copies(tmp_path: Path) -> None:
    """Replays the governance image's build stage without a container engine: copy what its COPY
    lines copy into an empty folder, then run its `uv sync --frozen` there (offline, from uv's cache)."""
    (dockerfile,) = [d for d in DOCKERFILES if d.name == "governance.Dockerfile"]
    build = _stages(dockerfile)[0]
    context = tmp_path / "src"
    context.mkdir()
    sync: list[str] = []
    for instruction in build:
        if instruction["instruction"] == "COPY":
            *sources, target = [a for a in _args(instruction) if not a.startswith("--")]
            for source in sources:
                origin = REPO / source
                destination = context / (Path(source).name if target == "./" else target)
                if origin.is_dir():
                    shutil.copytree(
                        origin, destination, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, destination)
        if instruction["instruction"] == "RUN" and "uv sync" in instruction["value"]:
            sync = shlex.split(instruction["value"])
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv and sync[:2] == ["uv", "sync"]
    environment = tmp_path / "venv"
    result = subprocess.run(
        [uv, *sync[1:], "--offline"],
        cwd=context,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(environment)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (environment / "bin" / "meshlake").exists()
    assert not list(environment.glob("lib/python*/site-packages/pyspark"))


def test_platform_image_workspace_has_a_location_per_data_zone() -> None:
    """The Dagster workspace baked into the platform image names the same code locations that
    `meshlake ui` writes for the project (MESHLAKE_PROJECT=/app in the image)."""
    workspace = yaml.safe_load((DEPLOY / "dagster" / "workspace.yaml").read_text())
    assert workspace["load_from"] == code_locations(load_mesh(REPO), Path("/app"))
    instance = yaml.safe_load((DEPLOY / "dagster" / "home" / "dagster.yaml").read_text())
    assert instance["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_POSTGRES_URL"}


def instance_config_problem(instance: dict[str, Any], folder: Path) -> str | None:
    """Dagster's own check of a dagster.yaml (its instance config schema; nothing is connected)."""
    from dagster._core.errors import DagsterInvalidConfigError
    from dagster._core.instance.config import dagster_instance_config
    from dagster._serdes import ConfigurableClassData

    (folder / "dagster.yaml").write_text(yaml.safe_dump(instance))
    try:
        dagster_instance_config(str(folder))
        # The run coordinator's and launcher's own config (the storage's needs dagster-postgres,
        # which only the platform image installs).
        for key in ("run_coordinator", "run_launcher"):
            part = instance[key]
            config = yaml.safe_dump(part.get("config") or {})
            ConfigurableClassData(part["module"], part["class"], config).rehydrate(as_type=object)
    except DagsterInvalidConfigError as invalid:
        return str(invalid)
    return None


def test_the_dagster_instance_config_passes_dagsters_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", "postgresql+psycopg2://meshlake:pw@db:5432/dagster")
    instance = yaml.safe_load((DEPLOY / "dagster" / "home" / "dagster.yaml").read_text())
    assert instance_config_problem(instance, tmp_path) is None
    instance["storage"]["postgres"]["postgress_url"] = instance["storage"]["postgres"].pop(
        "postgres_url"
    )
    problem = instance_config_problem(instance, tmp_path)
    assert problem and "postgress_url" in problem
    instance["storage"]["postgres"]["postgres_url"] = {"env": "DAGSTER_POSTGRES_URL"}
    del instance["storage"]["postgres"]["postgress_url"]
    assert instance_config_problem(instance, tmp_path) is None
    instance["run_coordinator"]["config"]["max_concurent_runs"] = 4
    problem = instance_config_problem(instance, tmp_path)
    assert problem and "max_concurent_runs" in problem


# ---------------------------------------------------------------- Helm chart


@pytest.fixture(scope="module")
def helm() -> str:
    found = find_helm()
    if found is None:
        try:
            found = build_helm()
        except FileNotFoundError as missing:
            if os.environ.get("CI"):
                raise
            pytest.skip(str(missing))
    return found


def render(helm: str, *values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helm, "template", "mlk", str(CHART), *values],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def manifests(helm: str, *values: str) -> list[dict[str, Any]]:
    result = render(helm, *values)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def test_chart_lints(helm: str) -> None:
    result = subprocess.run(
        [helm, "lint", str(CHART), *POSTGRES_VALUES],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["--set", "postgres.existingSecret=meshlake-db", "--set", "governance.replicas=4"],
        ["--set", "platform.lakeVolume.existingClaim=lake", "--set", "governance.maxInFlight=64"],
    ],
    ids=["defaults", "existing-secret", "lake-claim"],
)
def test_rendered_manifests_validate_against_the_kubernetes_schemas(
    helm: str, values: list[str]
) -> None:
    docs = manifests(helm, *POSTGRES_VALUES, *values)
    assert len(docs) >= 7
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_validation_rejects_a_broken_manifest(helm: str) -> None:
    (deployment,) = [
        d
        for name, d in by_kind(manifests(helm), "Deployment").items()
        if name.endswith("governance")
    ]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError, match="replicas"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_governance_deployment_probes_scrape_and_scale(helm: str) -> None:
    docs = manifests(helm, *POSTGRES_VALUES, "--set", "governance.replicas=3")
    deployment = by_kind(docs, "Deployment")["mlk-governance"]
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    (port,) = container["ports"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == port["containerPort"]
    command = container["command"]
    assert int(command[command.index("--port") + 1]) == port["containerPort"]
    assert problems_with_command(command) == []
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    service = by_kind(docs, "Service")["mlk-governance"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]


def test_dagster_webserver_and_daemon_use_the_external_postgres(
    helm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", "postgresql+psycopg2://meshlake:pw@db:5432/dagster")
    docs = manifests(helm, "--set", "postgres.existingSecret=meshlake-db")
    assert "Secret" not in {doc["kind"] for doc in docs}, "an existing secret is not re-created"
    deployments = by_kind(docs, "Deployment")
    for name in ("mlk-dagster-webserver", "mlk-dagster-daemon"):
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert problems_with_command(container["command"]) == []
        env = {e["name"]: e for e in container["env"]}
        assert env["DAGSTER_POSTGRES_URL"]["valueFrom"]["secretKeyRef"]["name"] == "meshlake-db"
        assert env["MESHLAKE_GOVERNANCE_URL"]["value"] == "http://mlk-governance:8686"
    instance = yaml.safe_load(by_kind(docs, "ConfigMap")["mlk-dagster"]["data"]["dagster.yaml"])
    baked = yaml.safe_load((DEPLOY / "dagster" / "home" / "dagster.yaml").read_text())
    assert instance == baked, "the chart's instance and the image's differ"
    assert instance_config_problem(instance, tmp_path) is None
    governance = deployments["mlk-governance"]["spec"]["template"]["spec"]["containers"][0]
    secret_refs = {
        e["valueFrom"]["secretKeyRef"]["name"] for e in governance["env"] if "valueFrom" in e
    }
    assert secret_refs == {"meshlake-db"}


def test_rendering_without_a_database_url_names_the_value_to_set(helm: str) -> None:
    result = render(helm, "--set", "postgres.governanceUrl=")
    assert result.returncode != 0
    assert "postgres.governanceUrl (or postgres.existingSecret) is required" in result.stderr
