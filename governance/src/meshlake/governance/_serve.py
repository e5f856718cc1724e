"""Running the service as a server: one process (the default), or several workers on PostgreSQL.

The schema is migrated here, once, before any worker starts (and under an advisory lock on
PostgreSQL, for replicas started together). Workers are uvicorn's: each builds its app from the same
``MESHLAKE_*`` environment. SQLite is refused with several workers: it has one writer, so extra
processes would only queue on its lock. Metrics of several workers go through a shared folder
(``PROMETHEUS_MULTIPROC_DIR``) that is emptied at start, as prometheus_client requires.
"""

from __future__ import annotations

import logging
import logging.config
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from meshlake.governance._errors import InvalidRequestError
from meshlake.governance._logging import LogFormat, log_config
from meshlake.governance._settings import GovernanceSettings
from meshlake.governance.api._metrics import MULTIPROC_ENV
from meshlake.governance.db._head import upgrade_once

_log = logging.getLogger("meshlake.governance")

# uvicorn kills a worker that does not answer its supervisor's ping within this time, and starts
# another. Its default (5 s) is shorter than a worker's start on a busy 2-core machine (importing
# the service takes longer), which then restarted workers forever without serving.
WORKER_HEALTHCHECK_SECONDS = 60


def check_workers(url: str, workers: int) -> None:
    """Refuse several workers on anything but PostgreSQL, saying what to do instead."""
    if workers > 1 and not url.startswith("postgresql"):
        raise InvalidRequestError(
            f"--workers {workers}: several workers need PostgreSQL "
            "(MESHLAKE_DATABASE_URL=postgresql://user:password@host/db); SQLite has a single "
            "writer, so more processes would only wait on its lock. Serve SQLite with --workers 1."
        )


def serve(
    settings: GovernanceSettings,
    *,
    host: str,
    port: int,
    workers: int,
    log_format: LogFormat,
) -> None:
    """Migrate, then serve until stopped (Ctrl-C or SIGTERM)."""
    import uvicorn

    from meshlake.governance.api._app import create_app

    url = settings.resolved_database_url()
    check_workers(url, workers)
    config = log_config(log_format)
    logging.config.dictConfig(config)
    upgrade_once(url)
    _log.info(
        "governance service on http://%s:%d (docs at /docs, metrics at /metrics), %d worker(s)",
        host,
        port,
        workers,
    )
    if workers == 1 and not os.environ.get(MULTIPROC_ENV):
        app = create_app(settings)
        uvicorn.run(app, host=host, port=port, log_config=config, log_level=None)
        return
    with _shared_metrics_folder():
        # Each worker process builds its app from the same MESHLAKE_ environment.
        uvicorn.run(
            "meshlake.governance.api._app:create_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_config=config,
            log_level=None,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )


@contextmanager
def _shared_metrics_folder() -> Iterator[Path]:
    """PROMETHEUS_MULTIPROC_DIR, emptied (values of a past run would add up), else a temporary
    folder removed at the end. Set before the workers start: they read it when they import."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        yield folder
        return
    folder = Path(tempfile.mkdtemp(prefix="meshlake-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)
