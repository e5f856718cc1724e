"""Recent runs of the lineage store, newest first."""

from __future__ import annotations

from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.orm import Session

from meshlake.governance.db._tables import (
    LineageJob,
    LineageRun,
)
from meshlake.governance.services._lineage._graph import resolve_jobs
from meshlake.governance.services._lineage._model import JobRef, RunInfo
from meshlake.governance.services._lineage._sql import _utc


def runs(session: Session, job: JobRef | None = None, limit: int = 50) -> list[RunInfo]:
    """The most recent runs (of ``job``), newest first, with their state and error."""
    query = (
        select(LineageRun, LineageJob.namespace, LineageJob.name)
        .join(LineageJob, LineageJob.id == LineageRun.job_id)
        .order_by(
            func.coalesce(LineageRun.started_at, LineageRun.ended_at).desc(),
            LineageRun.id.desc(),
        )
        .limit(limit)
    )
    if job is not None:
        query = query.where(LineageRun.job_id.in_(resolve_jobs(session, job)))
    return [
        RunInfo(
            run_id=run.run_id,
            job_namespace=namespace,
            job_name=name,
            state=run.state,
            started_at=_utc(run.started_at),
            ended_at=_utc(run.ended_at),
            error=run.error,
        )
        for run, namespace, name in session.execute(query)
    ]
