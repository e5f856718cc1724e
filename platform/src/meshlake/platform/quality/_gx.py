"""Great Expectations, loaded on first use and kept quiet.

``import great_expectations`` costs seconds, so only ports with rules pay it, once per process. One
ephemeral context serves every port of the process; its progress bars and log chatter are switched
off so ``meshlake run`` shows meshlake's own summary, not GE's internals.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()


@cache
def gx_module() -> Any:
    for name in ("great_expectations", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import great_expectations

    return great_expectations


@cache
def context(docs_folder: Path | None = None) -> Any:
    """The process's ephemeral GE context; with a Data Docs site in ``docs_folder`` when given."""
    gx = gx_module()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.enable_analytics(False)  # on the context, not through the process's environment
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if docs_folder is not None:
        ctx.add_data_docs_site(
            site_name="meshlake",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_folder),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return ctx


def batch_for(ctx: Any, name: str, frame: Any) -> Any:
    """A GE batch over the Spark DataFrame ``frame``; the datasource ``name`` is made once."""
    with _LOCK:
        try:
            source = ctx.data_sources.get(name)
        except Exception:
            # GE persists each batch by default and never releases it; Spark's cache then serves
            # the next run's identical plan from the old rows (stale checks, stale writes). The
            # engine reads staged files or persists (and releases) the checked frame itself.
            source = ctx.data_sources.add_spark(name, persist=False)
        try:
            asset = source.get_asset(name)
        except Exception:
            asset = source.add_dataframe_asset(name)
        try:
            definition = asset.get_batch_definition(name)
        except Exception:
            definition = asset.add_batch_definition_whole_dataframe(name)
    return definition.get_batch(batch_parameters={"dataframe": frame})
