"""Dagster resources: the meshlake project (specs, state folder) and its one Spark session."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from meshlake.platform import Platform, Settings


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
    governance_tokens: dict[str, str] = {}
    """A bearer token per landing zone: each zone's products publish as its service principal."""

    _platform: Platform | None = PrivateAttr(default=None)

    @cached_property
    def settings(self) -> Settings:
        overrides: dict[str, object] = {
            "project": Path(self.project),
            "home": Path(self.home) if self.home else None,
            "spark_master": self.spark_master,
        }
        # Unset fields keep what the environment says (MESHLAKE_GOVERNANCE_URL, ...).
        if self.governance_url:
            overrides["governance_url"] = self.governance_url
        if self.governance_token:
            overrides["governance_token"] = self.governance_token
        if self.governance_tokens:
            overrides["governance_tokens"] = self.governance_tokens
        return Settings(**overrides)  # type: ignore[arg-type]

    def platform(self) -> Platform:
        if self._platform is None:
            self._platform = Platform(self.settings)
        return self._platform
