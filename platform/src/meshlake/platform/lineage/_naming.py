"""OpenLineage names for storage locations, following the OpenLineage dataset naming spec.

A dataset is ``namespace`` (the datasource, ``scheme://authority``) plus ``name`` (the path in it),
so that meshlake's events join up with those of other producers (the Spark integration, Marquez):

- a local path ``/lake/hr/employees`` (or ``file:///lake/hr/employees``): ``file`` + ``/lake/hr/employees``;
- ``abfss://lake@acct.dfs.core.windows.net/hr/employees``:
  ``abfss://lake@acct.dfs.core.windows.net`` + ``hr/employees``;
- ``s3://bucket/hr/employees`` (also ``s3a://``, ``s3n://``): ``s3://bucket`` + ``hr/employees``;
- ``gs://bucket/hr/employees``: ``gs://bucket`` + ``hr/employees``.

Object-store names carry no leading slash (the spec's ``{path}`` / ``{object key}``), local names are
absolute paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from meshlake.platform.lineage._errors import LineageError

# s3a:// and s3n:// are Hadoop's connectors for the same buckets; OpenLineage names them all s3://.
_S3_SCHEMES = ("s3", "s3a", "s3n")
SUPPORTED_SCHEMES = ("file", "abfss", *_S3_SCHEMES, "gs")


class UnsupportedLocationError(LineageError):
    """A storage location meshlake cannot name as an OpenLineage dataset."""

    def __init__(self, location: str, reason: str) -> None:
        self.location = location
        super().__init__(f"cannot name {location!r} as an OpenLineage dataset: {reason}")


@dataclass(frozen=True, order=True)
class DatasetName:
    """An OpenLineage dataset identifier: the datasource ``namespace`` and the ``name`` within it."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return self.uri

    @property
    def uri(self) -> str:
        """The dataset as one URI (``file:///abs/path``, ``s3://bucket/key``)."""
        if self.namespace == "file":
            return Path(self.name).as_uri()
        return f"{self.namespace}/{self.name}"


def dataset_name(location: str | Path) -> DatasetName:
    """The OpenLineage dataset name of a table or folder at ``location`` (a path or a URI)."""
    text = str(location)
    if "://" not in text:
        return DatasetName("file", str(Path(text).expanduser().absolute()))
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    path = parts.path.strip("/")
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise UnsupportedLocationError(
                text, "a file:// URI on another host; use a path on this machine"
            )
        return DatasetName("file", url2pathname(parts.path) or "/")
    if scheme not in SUPPORTED_SCHEMES:
        raise UnsupportedLocationError(
            text,
            f"scheme {scheme!r} is not supported; use a local path or one of "
            f"{', '.join(f'{name}://' for name in SUPPORTED_SCHEMES)}",
        )
    if not parts.netloc:
        raise UnsupportedLocationError(text, f"a {scheme}:// location needs a bucket or container")
    if not path:
        raise UnsupportedLocationError(
            text, "it names a whole bucket or container; a dataset is a path inside one"
        )
    if scheme == "abfss":
        if "@" not in parts.netloc:
            raise UnsupportedLocationError(
                text,
                "write ADLS Gen2 locations as abfss://<container>@<account>.dfs.core.windows.net/<path>",
            )
        return DatasetName(f"abfss://{parts.netloc}", path)
    if scheme in _S3_SCHEMES:
        return DatasetName(f"s3://{parts.netloc}", path)
    return DatasetName(f"gs://{parts.netloc}", path)
