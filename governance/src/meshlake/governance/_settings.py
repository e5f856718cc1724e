"""Governance service settings (``MESHLAKE_*``): the database, and who is admin on first start."""

from __future__ import annotations

from pathlib import Path

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
