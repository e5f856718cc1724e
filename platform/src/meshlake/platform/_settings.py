"""Settings from the environment (``MESHLAKE_*``), with the embedded default when nothing is set."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshlake.platform._errors import ConfigurationError

_PROJECT_MARKER = Path("infra") / "landing-zones"


class Settings(BaseSettings):
    """Where the project and its state live, and how Spark runs.

    ``home`` is the one folder for embedded-default state (lake folders, logs, later the governance
    database and the Dagster instance); it defaults to ``.meshlake/`` at the project root.
    """

    model_config = SettingsConfigDict(env_prefix="MESHLAKE_", extra="ignore")

    project: Path | None = None
    home: Path | None = None
    spark_master: str | None = None
    spark_driver_memory: str = "3g"
    spark_shuffle_partitions: int = 4
    scale: float = 1.0
    seed: int = 7
    # Who counts the quality rules before a commit: one Spark pass (default), or Great
    # Expectations running the compiled suite (slower; the same numbers).
    quality_validator: Literal["spark", "great_expectations"] = "spark"
    # Days a quarantine table keeps its rows when the port's contract has no retention SLA.
    quarantine_retention_days: float = Field(default=30.0, gt=0)
    # The governance service; without a URL, `meshlake run` starts the embedded one on 127.0.0.1.
    governance_url: str | None = None
    governance_token: SecretStr | None = None
    # A token per landing zone (JSON: {"emea": "mlk_..."}): each zone's products publish, and write
    # their lineage, as that zone's service principal; zones without one use governance_token.
    governance_tokens: dict[str, SecretStr] = {}

    def governance_token_for(self, zone: str) -> str:
        """The bearer token that a product of ``zone`` publishes with ("" when none is set)."""
        token = self.governance_tokens.get(zone) or self.governance_token
        return token.get_secret_value() if token is not None else ""

    def project_root(self) -> Path:
        """The folder holding domains/ and infra/: MESHLAKE_PROJECT, else the nearest parent."""
        if self.project is not None:
            root = self.project.expanduser().resolve()
            if not (root / _PROJECT_MARKER).is_dir():
                raise ConfigurationError(
                    f"MESHLAKE_PROJECT={self.project} has no {_PROJECT_MARKER}/ folder"
                )
            return root
        here = Path.cwd().resolve()
        for candidate in (here, *here.parents):
            if (candidate / _PROJECT_MARKER).is_dir():
                return candidate
        raise ConfigurationError(
            f"no meshlake project here: no {_PROJECT_MARKER}/ in {here} or its parents; "
            "run from the project folder or set MESHLAKE_PROJECT"
        )

    def state_home(self) -> Path:
        home = self.home if self.home is not None else self.project_root() / ".meshlake"
        return home.expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
