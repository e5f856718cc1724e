"""Runs of `meshlake run`, executed in this process, recorded as runs of the code location's job.

Dagster's in-process execution records a run without a code-location origin, and the UI cannot
re-execute such a run (re-execution looks the job up in the parent run's location). Here the run is
created with the origin the workspace file gives the zone's location (location and repository name
are what the UI matches), then executed in this process. Dagster has no public call for that, so
this module is the one place that uses its internal run API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.workspace.load import location_origins_from_yaml_paths

REPOSITORY = "__repository__"
"""The name Dagster gives the repository of a ``Definitions`` object."""


def job_origin(workspace: Path, location: str, job: str) -> RemoteJobOrigin:
    """The origin the UI gives ``job`` of the code location ``location`` in ``workspace``."""
    origins = {
        origin.location_name: origin
        for origin in location_origins_from_yaml_paths([str(workspace)])
    }
    if location not in origins:
        raise ValueError(
            f"the workspace {workspace} has no code location {location!r} "
            f"(it has {', '.join(sorted(origins))})"
        )
    return RemoteJobOrigin(RemoteRepositoryOrigin(origins[location], REPOSITORY), job)


def execute_as_location_job(
    job: dg.JobDefinition,
    origin: RemoteJobOrigin,
    instance: dg.DagsterInstance,
    assets: Sequence[dg.AssetKey],
    tags: Mapping[str, str],
    run_config: Mapping[str, object],
) -> dg.JobExecutionResult:
    """Run ``assets`` of ``job`` in this process, as a run of the job in ``origin``'s location."""
    run = instance.create_run_for_job(
        job_def=job,
        run_config=dict(run_config),
        tags=dict(tags),
        asset_selection=frozenset(assets),
        remote_job_origin=origin,
    )
    return execute_run(InMemoryJob(job), run, instance, raise_on_error=False)
