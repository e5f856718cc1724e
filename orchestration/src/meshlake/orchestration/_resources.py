"""Dagster resources: the meshlake project (specs, state folder) and its one Spark session."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from meshlake.platform import Platform, Settings
from meshlake.platform._governance import GovernanceClient


class MeshlakeResource(dg.ConfigurableResource):
    """The project a code location serves, and where its state lives.

    Spark is started lazily, once per run process, by the first asset that needs it; every asset of
    the run shares it (see meshlake.platform.spark_session).
    """

    project: str
    home: str | None = None
    spark_master: str | None = None
    governance_url: str | None = None
    governance_token: str | None = None

    _platform: Platform | None = PrivateAttr(default=None)

    @cached_property
    def settings(self) -> Settings:
        return Settings(
            project=Path(self.project),
            home=Path(self.home) if self.home else None,
            spark_master=self.spark_master,
        )

    def governance(self) -> GovernanceClient | None:
        """The catalog client when a governance service is configured for this run."""
        if not self.governance_url:
            return None
        return GovernanceClient(self.governance_url, self.governance_token or "")

    def platform(self) -> Platform:
        if self._platform is None:
            self._platform = Platform(self.settings)
        return self._platform
