"""Object storage for zone storage roots: ``s3://`` (tested), ``abfss://`` and ``gs://``.

One place turns a storage root into what each engine needs: delta-rs ``storage_options`` (the
DuckDB engine, governance), a pyarrow filesystem over the same options (raw drops, staged Parquet
files), and the Spark conf with the Hadoop connector jars (Spark writes Delta through s3a).
Credentials and endpoints come from ``MESHLAKE_*`` settings, else from each cloud's standard
environment variables (``AWS_*``, ``AZURE_STORAGE_*``, ``GOOGLE_APPLICATION_CREDENTIALS``).

Spark pays for a connector (640 MB of AWS SDK for s3a) only when a zone of the project uses its
scheme; local folders stay the default. ``s3://`` is served by s3a in Spark too, so a table has one
location string for every engine and for the catalog.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshlake.platform._errors import ConfigurationError

if TYPE_CHECKING:
    import pyarrow.fs as pafs

    from meshlake.platform._settings import Settings

HADOOP_VERSION = "3.4.2"
"""The Hadoop of Spark 4.1's jars; its hadoop-aws and hadoop-azure must match it exactly."""
AWS_SDK_BUNDLE = "software.amazon.awssdk:bundle:2.29.52"
"""What hadoop-aws 3.4.2 was built against (about 640 MB, fetched once per machine)."""


class StorageSettings(BaseSettings):
    """Object-store credentials and endpoints (``MESHLAKE_S3_ENDPOINT`` ...); each unset one falls
    back to the cloud's standard environment variable, and then to the SDKs' own chains."""

    model_config = SettingsConfigDict(env_prefix="MESHLAKE_", extra="ignore")

    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_session_token: SecretStr | None = None
    # Path-style requests (http://host/bucket/key): what S3-compatible servers expect. Default:
    # on when an endpoint is set, off for AWS itself.
    s3_path_style: bool | None = None
    azure_storage_account_name: str | None = None
    azure_storage_account_key: SecretStr | None = None
    gcs_service_account_file: Path | None = None
    # How long a run's writer lease on an object store lasts (``_lease``): longer than any
    # publication takes, short enough that a killed run does not block its product for long.
    writer_lease_seconds: float = Field(default=3600.0, gt=0)

    def s3(self) -> dict[str, str]:
        """The S3 settings that are set, keyed by their AWS environment variable's name."""
        env = os.environ
        found = {
            "AWS_ENDPOINT_URL": self.s3_endpoint or env.get("AWS_ENDPOINT_URL_S3"),
            "AWS_REGION": self.s3_region or env.get("AWS_REGION"),
            "AWS_ACCESS_KEY_ID": self.s3_access_key_id,
            "AWS_SECRET_ACCESS_KEY": _secret(self.s3_secret_access_key),
            "AWS_SESSION_TOKEN": _secret(self.s3_session_token),
        }
        for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            found[name] = found[name] or env.get(name)
        found["AWS_REGION"] = found["AWS_REGION"] or env.get("AWS_DEFAULT_REGION")
        found["AWS_SESSION_TOKEN"] = found["AWS_SESSION_TOKEN"] or env.get("AWS_SESSION_TOKEN")
        return {key: value for key, value in found.items() if value}

    def path_style(self) -> bool:
        if self.s3_path_style is not None:
            return self.s3_path_style
        return "AWS_ENDPOINT_URL" in self.s3()

    def azure(self) -> dict[str, str]:
        env = os.environ
        found = {
            "AZURE_STORAGE_ACCOUNT_NAME": self.azure_storage_account_name
            or env.get("AZURE_STORAGE_ACCOUNT_NAME"),
            "AZURE_STORAGE_ACCOUNT_KEY": _secret(self.azure_storage_account_key)
            or env.get("AZURE_STORAGE_ACCOUNT_KEY"),
        }
        return {key: value for key, value in found.items() if value}

    def gcs(self) -> dict[str, str]:
        file = self.gcs_service_account_file or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        return {"GOOGLE_SERVICE_ACCOUNT": str(file)} if file else {}


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


@dataclass(frozen=True)
class Backend:
    """One object store: its URI schemes, delta-rs options, and Spark's connector and conf."""

    name: str
    schemes: tuple[str, ...]
    delta_options: Callable[[StorageSettings], dict[str, str]]
    spark_packages: Callable[[], tuple[str, ...]]
    spark_conf: Callable[[StorageSettings], dict[str, str]]


def _s3_delta_options(settings: StorageSettings) -> dict[str, str]:
    options = settings.s3()
    endpoint = options.get("AWS_ENDPOINT_URL", "")
    if endpoint.startswith("http://"):
        options["AWS_ALLOW_HTTP"] = "true"
    if settings.path_style():
        options["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = "false"
    options.setdefault("AWS_REGION", "us-east-1")
    return options


def _s3_spark_conf(settings: StorageSettings) -> dict[str, str]:
    found = settings.s3()
    s3a = "org.apache.hadoop.fs.s3a.S3AFileSystem"
    conf = {
        # s3:// in a storage root is served by s3a too: one location string for every engine.
        "spark.hadoop.fs.s3.impl": s3a,
        "spark.hadoop.fs.s3a.impl": s3a,
        "spark.hadoop.fs.s3a.path.style.access": str(settings.path_style()).lower(),
        "spark.hadoop.fs.s3a.endpoint.region": found.get("AWS_REGION", "us-east-1"),
    }
    if "AWS_ENDPOINT_URL" in found:
        conf["spark.hadoop.fs.s3a.endpoint"] = found["AWS_ENDPOINT_URL"]
        if found["AWS_ENDPOINT_URL"].startswith("http://"):
            conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = "false"
    if "AWS_ACCESS_KEY_ID" in found and "AWS_SECRET_ACCESS_KEY" in found:
        conf["spark.hadoop.fs.s3a.access.key"] = found["AWS_ACCESS_KEY_ID"]
        conf["spark.hadoop.fs.s3a.secret.key"] = found["AWS_SECRET_ACCESS_KEY"]
        provider = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        if "AWS_SESSION_TOKEN" in found:
            conf["spark.hadoop.fs.s3a.session.token"] = found["AWS_SESSION_TOKEN"]
            provider = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
        conf["spark.hadoop.fs.s3a.aws.credentials.provider"] = provider
    return conf


def _azure_spark_conf(settings: StorageSettings) -> dict[str, str]:
    found = settings.azure()
    account, key = found.get("AZURE_STORAGE_ACCOUNT_NAME"), found.get("AZURE_STORAGE_ACCOUNT_KEY")
    if account and key:
        return {f"spark.hadoop.fs.azure.account.key.{account}.dfs.core.windows.net": key}
    return {}


def _gcs_spark_conf(settings: StorageSettings) -> dict[str, str]:
    conf = {"spark.hadoop.fs.gs.impl": "com.google.cloud.hadoop.fs.gcs.GoogleHadoopFileSystem"}
    found = settings.gcs()
    if found:
        conf["spark.hadoop.google.cloud.auth.service.account.json.keyfile"] = found[
            "GOOGLE_SERVICE_ACCOUNT"
        ]
    return conf


BACKENDS: tuple[Backend, ...] = (
    Backend(
        "s3",
        ("s3", "s3a"),
        _s3_delta_options,
        # Spark's resolver fetches the SDK bundle as hadoop-aws's dependency; naming it too makes
        # the version explicit and lets a pre-filled local Maven repository serve both.
        lambda: (f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}", AWS_SDK_BUNDLE),
        _s3_spark_conf,
    ),
    Backend(
        "azure",
        ("abfss", "abfs", "az"),
        StorageSettings.azure,
        lambda: (f"org.apache.hadoop:hadoop-azure:{HADOOP_VERSION}",),
        _azure_spark_conf,
    ),
    Backend(
        "gcs",
        ("gs", "gcs"),
        StorageSettings.gcs,
        lambda: ("com.google.cloud.bigdataoss:gcs-connector:hadoop3-2.2.26",),
        _gcs_spark_conf,
    ),
)


def scheme_of(location: str) -> str | None:
    """The URI scheme of ``location`` (``s3``), or None for a local path."""
    head, sep, _ = location.partition("://")
    return head.lower() if sep else None


def backend_of(location: str) -> Backend | None:
    """The object store serving ``location``; None for a local path or a ``file://`` URI.

    Raises ConfigurationError for a scheme no backend serves, naming the ones that exist.
    """
    scheme = scheme_of(location)
    if scheme is None or scheme == "file":
        return None
    for backend in BACKENDS:
        if scheme in backend.schemes:
            return backend
    known = ", ".join(f"{s}://" for backend in BACKENDS for s in backend.schemes)
    raise ConfigurationError(
        f"storage location {location}: no object store serves {scheme}://; use a local folder "
        f"or one of {known}"
    )


def is_object_store(location: str) -> bool:
    """True when ``location`` is on an object store rather than a local disk."""
    return backend_of(location) is not None


def storage_options(location: str) -> dict[str, str] | None:
    """delta-rs ``storage_options`` for ``location``; None for a local path (nothing needed)."""
    backend = backend_of(location)
    if backend is None:
        return None
    return backend.delta_options(StorageSettings())


def filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and the path of ``location`` on it (raw drops, staged files).

    pyarrow's own clients, from the same settings as delta-rs's options: delta-rs's storage
    handler uploads even small files in several parts, which S3-compatible servers do not all
    serve.
    """
    import pyarrow.fs as pafs

    backend = backend_of(location)
    if backend is None:
        return pafs.LocalFileSystem(), location.removeprefix("file://").rstrip("/")
    path = location.partition("://")[2].rstrip("/")
    settings = StorageSettings()
    if backend.name == "s3":
        found = settings.s3()
        endpoint = found.get("AWS_ENDPOINT_URL")
        s3 = pafs.S3FileSystem(
            access_key=found.get("AWS_ACCESS_KEY_ID"),
            secret_key=found.get("AWS_SECRET_ACCESS_KEY"),
            session_token=found.get("AWS_SESSION_TOKEN"),
            region=found.get("AWS_REGION", "us-east-1"),
            endpoint_override=endpoint,
            force_virtual_addressing=not settings.path_style(),
        )
        return s3, path
    if backend.name == "azure":
        # abfss://container@account.dfs.core.windows.net/path -> container/path
        container, _, rest = path.partition("@")
        account_host, _, inner = rest.partition("/")
        found = settings.azure()
        azure = pafs.AzureFileSystem(
            account_name=found.get("AZURE_STORAGE_ACCOUNT_NAME", account_host.split(".")[0]),
            account_key=found.get("AZURE_STORAGE_ACCOUNT_KEY"),
        )
        return azure, f"{container}/{inner}".rstrip("/")
    return pafs.GcsFileSystem(), path


def join(base: str, name: str) -> str:
    """``name`` inside ``base`` as ``filesystem`` roots it ("" is the location itself)."""
    return f"{base}/{name}" if base else name


def spark_conf(roots: Iterable[str], packages: str) -> dict[str, str]:
    """Spark conf for the object stores among ``roots``: their connector jars appended to
    ``packages`` (Spark's ``spark.jars.packages``) and their Hadoop settings. Empty when every
    root is local, so the embedded default loads no connector."""
    backends = {b.name: b for root in roots if (b := backend_of(root)) is not None}
    if not backends:
        return {}
    settings = StorageSettings()
    wanted = [packages] if packages else []
    conf: dict[str, str] = {}
    for backend in backends.values():
        wanted.extend(backend.spark_packages())
        conf.update(backend.spark_conf(settings))
    conf["spark.jars.packages"] = ",".join(wanted)
    return conf


def spark_storage_conf(settings: Settings, packages: str) -> dict[str, str]:
    """``spark_conf`` for the storage roots of the project's landing zones (read from their
    YAML alone, without loading the mesh); nothing outside a project."""
    try:
        folder = settings.project_root() / "infra" / "landing-zones"
    except ConfigurationError:
        return {}
    return spark_conf(zone_storage_roots(folder), packages)


def zone_storage_roots(folder: Path) -> list[str]:
    """The ``storageRoot`` of each landing-zone file in ``folder`` (unreadable files are the
    spec validator's to report, not this one's)."""
    roots = []
    for file in sorted(folder.glob("*.yaml")):
        try:
            document = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        root = document.get("storageRoot") if isinstance(document, Mapping) else None
        if isinstance(root, str):
            roots.append(root)
    return roots


def drop_files(location: str) -> list[pafs.FileInfo]:
    """The ``part-*`` files directly in ``location`` (a raw drop's files), by name; none when
    the folder does not exist."""
    import pyarrow.fs as pafs

    fs, base = filesystem(location)
    found = fs.get_file_info(pafs.FileSelector(base, allow_not_found=True))
    return sorted(
        (info for info in found if info.is_file and info.base_name.startswith("part-")),
        key=lambda info: info.base_name,
    )


def local_copy(location: str) -> list[str]:
    """Local copies of the raw drop at ``location`` (an object store), for readers that open
    only local files (DuckDB without its network extensions). The copies live in a temporary
    folder removed when the process exits."""
    import pyarrow.fs as pafs

    fs, _ = filesystem(location)
    folder = Path(tempfile.mkdtemp(prefix="meshlake-raw-"))
    atexit.register(shutil.rmtree, folder, True)
    copies = []
    for info in drop_files(location):
        target = folder / info.base_name
        pafs.copy_files(info.path, str(target), source_filesystem=fs)
        copies.append(str(target))
    return copies
