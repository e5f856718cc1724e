"""Governance service settings (``MESHLAKE_*``): the database, and who is admin on first start."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshlake.platform import Settings


class GovernanceSettings(BaseSettings):
    """``database_url`` defaults to SQLite (WAL) in the state folder; PostgreSQL at scale.

    ``bootstrap_token``, when set, is accepted as the platform admin's token; it exists so that a
    fresh deployment can create its first real tokens. It has no default.
    """

    model_config = SettingsConfigDict(env_prefix="MESHLAKE_", extra="ignore")

    database_url: str | None = None
    bootstrap_token: SecretStr | None = None
    max_request_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    """The largest request body (after gzip) any endpoint but the lineage batch takes; 413 above."""
    max_batch_request_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    """The largest body of ``POST /api/v1/lineage/batch`` (up to 10,000 events of ~20 kB)."""
    token_max_days: int = Field(default=365, gt=0)
    """The longest lifetime of a bearer token issued through the API or the CLI, in days; also the
    lifetime of a token issued without one."""
    max_in_flight: int | None = Field(default=None, ge=1)
    """Requests served at once; more are refused with 503 and Retry-After. Default: the database
    pool's connections less two (a request never waits for a connection)."""

    def resolved_database_url(self, state_home: Path | None = None) -> str:
        """MESHLAKE_DATABASE_URL, else SQLite in ``state_home`` (default: the project's state folder)."""
        if self.database_url:
            return self.database_url
        home: Path = state_home or Settings().state_home()
        home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{home / 'governance.db'}"

    # Webhook delivery (services/_webhooks): how often to look, how long to wait, when to give up.
    webhook_poll_interval: float = Field(default=2.0, gt=0)
    """Seconds between two looks of a deliverer at the webhook outbox for due deliveries."""
    webhook_backoff_base: float = Field(default=60.0, gt=0)
    """Seconds before the first retry of a failed delivery; each further retry waits twice as long
    (with jitter: between half and all of that)."""
    webhook_backoff_max: float = Field(default=8 * 3600.0, gt=0)
    """The longest wait between two attempts, in seconds."""
    webhook_max_attempts: int = Field(default=12, ge=1)
    """Attempts before a delivery is dead (with the defaults, 12 span 12 to 24 hours)."""
    webhook_timeout: float = Field(default=5.0, gt=0)
    """Seconds a receiver has to answer one delivery; longer counts as a failed attempt."""
    webhook_concurrency: int = Field(default=4, ge=1)
    """Deliveries one deliverer sends at the same time (one slow receiver does not stall others)."""
    webhook_retention_days: float = Field(default=30.0, gt=0)
    """Days a settled delivery (delivered, dead, cancelled) stays readable; deliverers prune older
    ones once an hour. Pending deliveries are never pruned."""
    sla_interval: float = Field(default=900.0, ge=0)
    """Seconds between two scheduled measurements of every active agreement's SLA (0: none; they
    are also measured on demand and after each recorded version)."""

    # Governed SQL (POST /api/v1/query, `meshlake query`): the bounds of one query.
    query_row_limit: int = Field(default=10_000, ge=1, le=1_000_000)
    """The most rows one query returns over all its pages; more are cut and ``truncated`` is set."""
    query_timeout_seconds: float = Field(default=10.0, gt=0)
    """Seconds DuckDB may run one query (or one page of it) before it is stopped with a 422."""
    query_memory_limit: str = Field(default="256MB", pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$")
    """DuckDB's memory limit for one query (e.g. 256MB, 1GiB); a query needing more gets a 422."""
    query_threads: int = Field(default=1, ge=1, le=64)
    """DuckDB threads one query may use; with more than one, pages of a query without ORDER BY
    may not follow one order."""
    query_max_bytes_read: int = Field(default=1024 * 1024 * 1024, gt=0)
    """The largest total size of the Delta files one query may read (all its ports at their
    versions); a query over it is refused with a 422 before anything is read."""

    # Delta Sharing (services/_delta_sharing): snapshots, and the signed file URLs.
    sharing_snapshot_dir: Path | None = None
    """Where per-agreement snapshots of shared tables are written; default: ``sharing-snapshots``
    in the project's state folder."""
    sharing_url_secret: SecretStr | None = None
    """The HMAC-SHA256 key that signs file URLs. Unset (the embedded default), a random key is made
    per process, so URLs die with the process; set it when several processes serve one share."""
    sharing_url_ttl_seconds: int = Field(default=900, ge=1, le=7 * 86_400)
    """How long a signed file URL stays valid (15 minutes by default)."""

    def resolved_snapshot_dir(self) -> Path:
        """MESHLAKE_SHARING_SNAPSHOT_DIR, else ``sharing-snapshots`` in the project's state folder."""
        return self.sharing_snapshot_dir or Settings().state_home() / "sharing-snapshots"

    # Lineage events as received (GET /api/v1/lineage/events): how long they are kept.
    lineage_event_retention_days: float = Field(default=90.0, gt=0)
    """Days a received lineage event stays readable; older ones are pruned (at most hourly, on
    ingest, or on demand by an admin). The graph, runs and column lineage are kept."""

    # Serving (`meshlake governance serve`): how it logs.
    log_format: Literal["text", "json"] = "text"
    """``text`` (the default: warnings and errors, for people) or ``json`` (one JSON object per
    line on stderr, with an access line per request: for log collectors)."""
