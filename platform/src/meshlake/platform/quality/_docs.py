"""Great Expectations Data Docs for each validation, in the state folder.

The validation result is stored under the run's id and only its own page (and the index) is
rendered, so a run pays for the pages it adds, not for every page of past runs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any


def build_page(ctx: Any, outcome: Any, run_id: str) -> str | None:
    """Render ``outcome``'s page; return its file URI (None if GE could not render it)."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    identifier = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=outcome.suite_name),
        run_id=RunIdentifier(run_name=run_id, run_time=datetime.now(UTC)),
        batch_identifier=_batch_name(outcome),
    )
    ctx.validation_results_store.set(identifier, outcome)
    ctx.build_data_docs(site_names=["meshlake"], resource_identifiers=[identifier])
    sites = ctx.get_docs_sites_urls(resource_identifier=identifier, site_name="meshlake")
    return str(sites[0]["site_url"]) if sites and sites[0].get("site_url") else None


def _batch_name(outcome: Any) -> str:
    """The page's file name: the validated asset (the port), not GE's repr of its batch."""
    definition = outcome.meta.get("active_batch_definition")
    name = getattr(definition, "data_asset_name", None)
    if name is None and isinstance(definition, dict):
        name = definition.get("data_asset_name")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name or "batch"))
