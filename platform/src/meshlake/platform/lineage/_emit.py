"""Send OpenLineage events: over HTTP to an OpenLineage backend, or to a JSON-lines file.

Emission never fails a materialization. Lineage describes a run; it is not the run: a COMPLETE event
goes out after the Delta commit, which consumers can already read, and a FAIL event after the run has
failed for its own reason. Raising there would turn a lineage-backend outage into a data outage (or
report as failed a version that was published), so :meth:`LineageEmitter.emit` logs a warning with
the reason and returns.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attr
from openlineage.client.serde import Serde
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG
from openlineage.client.transport.noop import NoopConfig, NoopTransport
from openlineage.client.transport.transport import Config, Transport

from meshlake.platform._errors import ConfigurationError
from meshlake.platform.lineage._errors import LineageError

if TYPE_CHECKING:
    from openlineage.client.client import Event

log = logging.getLogger(__name__)

EVENTS_FILE = Path("lineage") / "events.jsonl"
"""Where events go without a backend, relative to the state folder."""
DEFAULT_ENDPOINT = "api/v1/lineage"

# The library retries five times with growing back-off (about 10 s against a dead backend); lineage
# must not hold a materialization up that long, so fewer, shorter retries.
_RETRY = {**DEFAULT_RETRY_CONFIG, "total": 2, "connect": 2, "read": 2, "backoff_factor": 0.2}
_TIMEOUT_SECONDS = 5.0


@attr.define
class JsonLinesConfig(Config):
    path: str

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> JsonLinesConfig:
        if "path" not in params:
            raise ConfigurationError("the JSON-lines lineage transport needs a `path`")
        return cls(path=str(params["path"]))


class JsonLinesTransport(Transport):
    """Appends each event as one line of JSON, exactly the body the HTTP transport would send.

    The line is written with one ``write`` on a file opened for appending, so events from parallel
    processes (Dagster runs each asset step in its own process) land as whole lines.
    """

    kind = "meshlake-jsonl"
    config_class = JsonLinesConfig

    def __init__(self, config: JsonLinesConfig) -> None:
        self.config = config
        self.path = Path(config.path)

    def emit(self, event: Event) -> None:
        data = (Serde.to_json(event) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
        finally:
            os.close(handle)


class LineageEmitter:
    """Sends events through one OpenLineage transport; a failure is logged, never raised.

    Usually built with :meth:`from_environment`; any openlineage-python ``Transport`` (Kafka, a
    composite of several, ...) can be passed instead.
    """

    def __init__(self, transport: Transport, target: str, journal: Path | None = None) -> None:
        self.transport = transport
        self.target = target
        """Where events go, for messages (a URL or a file path)."""
        self.journal = (
            None if journal is None else JsonLinesTransport(JsonLinesConfig(path=str(journal)))
        )
        """A JSON-lines copy of every event sent (the run's local record), if any."""

    @staticmethod
    def configured() -> bool:
        """Whether the OpenLineage variables name a backend (or turn emission off)."""
        return bool(os.environ.get("OPENLINEAGE_URL", "").strip()) or os.environ.get(
            "OPENLINEAGE_DISABLED", ""
        ).strip().lower() in ("true", "1", "yes")

    @classmethod
    def from_environment(
        cls, state_home: Path, environ: Mapping[str, str] | None = None
    ) -> LineageEmitter:
        """HTTP to ``OPENLINEAGE_URL`` when set, else JSON lines in ``<state_home>/lineage/events.jsonl``.

        ``OPENLINEAGE_API_KEY`` adds a bearer token, ``OPENLINEAGE_ENDPOINT`` replaces the default
        ``api/v1/lineage`` path and ``OPENLINEAGE_DISABLED=true`` turns emission off, as for the other
        OpenLineage clients.
        """
        env = os.environ if environ is None else environ
        if env.get("OPENLINEAGE_DISABLED", "").strip().lower() in ("true", "1", "yes"):
            return cls(NoopTransport(NoopConfig()), "nowhere (OPENLINEAGE_DISABLED)")
        url = env.get("OPENLINEAGE_URL", "").strip()
        if not url:
            path = state_home / EVENTS_FILE
            return cls(JsonLinesTransport(JsonLinesConfig(path=str(path))), str(path))
        return cls.over_http(
            url,
            env.get("OPENLINEAGE_API_KEY", "").strip(),
            env.get("OPENLINEAGE_ENDPOINT", "").strip() or DEFAULT_ENDPOINT,
        )

    @classmethod
    def over_http(
        cls,
        url: str,
        api_key: str,
        endpoint: str = DEFAULT_ENDPOINT,
        journal: Path | None = None,
    ) -> LineageEmitter:
        """HTTP to an OpenLineage backend (the governance service's is ``api/v1/lineage``), with
        a JSON-lines copy of each event in ``journal`` when given."""
        config = HttpConfig(
            url=url,
            endpoint=endpoint,
            timeout=_TIMEOUT_SECONDS,
            auth=ApiKeyTokenProvider({"apiKey": api_key}) if api_key else TokenProvider({}),
            retry=_RETRY,
        )
        try:
            transport = HttpTransport(config)
        except ValueError as exc:
            raise ConfigurationError(
                f"OPENLINEAGE_URL={url!r} is not a usable URL ({exc}); set it to the backend's base "
                "URL, such as http://localhost:5000, or unset it to write events to a file"
            ) from exc
        return cls(transport, f"{url.rstrip('/')}/{config.endpoint.lstrip('/')}", journal)

    def emit(self, event: Event) -> None:
        """Send ``event``; on failure log a warning with the reason and carry on."""
        if self.journal is not None:
            try:
                self.journal.emit(event)
            except OSError as exc:
                log.warning("OpenLineage journal %s not written: %s", self.journal.path, exc)
        try:
            self.transport.emit(event)
        except Exception as exc:  # any failure: see the module docstring, lineage never fails a run
            log.warning(
                "OpenLineage %s was not sent to %s: %s: %s; the materialization goes on without it",
                _describe(event),
                self.target,
                type(exc).__name__,
                exc,
            )

    def close(self) -> None:
        self.transport.close()


def _describe(event: Event) -> str:
    kind = getattr(getattr(event, "eventType", None), "value", "event")
    job = getattr(event, "job", None)
    run = getattr(event, "run", None)
    where = f" of {job.namespace}/{job.name}" if job is not None else ""
    return f"{kind} event{where}" + (f" (run {run.runId})" if run is not None else "")


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events in a JSON-lines file written by :class:`JsonLinesTransport` (none if absent)."""
    if not path.exists():
        return []
    events = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise LineageError(f"{path}, line {number}: not a JSON event ({exc.msg})") from exc
    return events
