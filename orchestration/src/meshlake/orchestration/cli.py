"""`meshlake materialize`, `meshlake run` and `meshlake ui`, added to the meshlake command through
the entry-point group (both publishing commands start the embedded governance service when no
MESHLAKE_GOVERNANCE_URL is set)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from meshlake.platform.cli import Products, Upstream
from meshlake.platform.cli.output import fail, note, say, summary_table


def materialize(products: Products = None, upstream: Upstream = False) -> None:
    """Publish products directly (no Dagster) in dependency order, with progress and a summary."""
    from meshlake.orchestration._governed import governed
    from meshlake.platform import Platform, Settings, stop_spark
    from meshlake.platform.cli.output import dropped, finished, starting, summarize

    settings = Settings()
    platform = Platform(settings)
    plan = platform.plan(products, upstream)
    missing = platform.missing_drops(plan)
    if missing:
        note(f"no raw drop yet for {', '.join(missing)}: generating the sample drops first")
        platform.ingest(only=missing, progress=dropped)
    with governed(settings) as governed_settings:
        note(
            f"governance at {governed_settings.governance_url}; starting Spark, {len(plan)} products"
        )
        governed_platform = Platform(governed_settings)
        try:
            results = governed_platform.publish(products, upstream, finished, starting)
        finally:
            governed_platform.close()
            stop_spark()
    summarize(results)
    failures = [result for result in results if not result.ok]
    if failures:
        fail(f"{len(failures)} of {len(results)} products were not published")


def run(products: Products = None, upstream: Upstream = False) -> None:
    """The main job: materialize the mesh through Dagster, emit lineage, print a summary."""
    from meshlake.orchestration._run import run_mesh
    from meshlake.platform import Settings, stop_spark

    settings = Settings()
    _show_progress()
    note("materializing through Dagster (Spark starts only for a product that needs it) ...")
    try:
        outcome = run_mesh(settings, products, upstream)
    finally:
        stop_spark()
    rows = []
    for product in outcome.products:
        checks = f"{product.checks_passed}/{product.checks_passed + product.checks_failed}"
        for port in product.ports or [None]:  # type: ignore[list-item]
            rows.append(
                (
                    product.product,
                    port.port if port else "-",
                    product.status,
                    product.engine or "-",
                    f"{port.rows:,}" if port and port.rows is not None else "-",
                    port.version if port and port.version is not None else "-",
                    checks,
                    f"{product.seconds:.1f}",
                )
            )
    jobs = ", ".join(f"{zone_run.job} run" for zone_run in outcome.runs)
    summary_table(
        f"dagster {jobs}" if jobs else "dagster: nothing ran",
        ["product", "port", "status", "engine", "rows", "version", "checks", "seconds"],
        rows,
    )
    for zone_run in outcome.runs:
        say(f"{zone_run.job} run {zone_run.run_id}")
    for product in outcome.products:
        for check in product.failed_checks:
            say(f"{product.product} check {check}")
        for missed in product.sla_missed:
            say(f"{product.product} agreement SLA missed: {missed}")
        if product.error:
            say(f"{product.product} {product.status}: {product.error}")
    if settings.governance_url:
        say(f"catalog and lineage: the governance service at {settings.governance_url}")
    else:
        database = settings.state_home() / "governance.db"
        say(
            f"catalog and lineage: {database} (browse with `uv run meshlake governance serve`, /docs)"
        )
    say("Open the Dagster UI on this run: uv run meshlake ui")
    if not outcome.success:
        failed = [product for product in outcome.products if product.status != "published"]
        fail(f"{len(failed)} of {len(outcome.products)} products were not published")


def _show_progress() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("  %(message)s"))
    logger = logging.getLogger("meshlake.progress")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def ui(
    port: Annotated[int, typer.Option(help="Port of the web UI on 127.0.0.1.")] = 3000,
    docs_port: Annotated[
        int, typer.Option(help="Port of the Data Docs pages (quality results) on 127.0.0.1.")
    ] = 3001,
) -> None:
    """Open the Dagster UI: one code location per landing zone, on the local instance.

    Materializations started from the UI publish through governance like `meshlake run`: the
    service at MESHLAKE_GOVERNANCE_URL, or the embedded one, started for as long as the UI runs.
    The quality checks' Data Docs links open on the Data Docs server started beside it. Ctrl-C
    stops every process the command started.
    """
    from meshlake.orchestration._daemon import child_environment
    from meshlake.orchestration._data_docs import URL_VARIABLE, serve_data_docs
    from meshlake.orchestration._governed import governed
    from meshlake.orchestration._instance import dagster_home, write_workspace
    from meshlake.orchestration._ui_process import dagster_command, run_until_interrupted
    from meshlake.platform import Settings

    settings = Settings()
    workspace = write_workspace(settings)
    try:
        docs = serve_data_docs(settings.state_home(), docs_port)
    except OSError as error:
        fail(f"cannot serve Data Docs on 127.0.0.1:{docs_port} ({error}); pick --docs-port")
    try:
        with governed(settings) as governed_settings:
            env = child_environment(
                settings, governed_settings, dagster_home(settings), **{URL_VARIABLE: docs.url}
            )
            note(
                f"Dagster UI on http://127.0.0.1:{port} (workspace {workspace}), Data Docs on "
                f"{docs.url}, publishing through governance at "
                f"{governed_settings.governance_url}; Ctrl-C stops them all"
            )
            run_until_interrupted(
                dagster_command("dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)),
                env,
            )
    finally:
        docs.stop()


def daemon(
    ui_port: Annotated[
        int | None,
        typer.Option(help="Also serve the Dagster UI on this port of 127.0.0.1 (dagster dev)."),
    ] = None,
) -> None:
    """Run Dagster's daemon on the instance at scale (MESHLAKE_DAGSTER_POSTGRES_URL).

    The daemon runs the products' schedules, the sensors that run a product when its inputs
    publish a new version and that measure the agreements' SLAs, and the freshness policies; runs
    wait in a queue that lets one run of a product at a time. Runs publish through governance:
    the service at MESHLAKE_GOVERNANCE_URL, or the embedded one, started for as long as the
    daemon runs. Ctrl-C stops every process the command started.
    """
    from meshlake.orchestration._daemon import (
        AUTOMATION_VARIABLE,
        child_environment,
        daemon_command,
    )
    from meshlake.orchestration._governed import governed
    from meshlake.orchestration._instance import daemon_home, write_workspace
    from meshlake.orchestration._ui_process import run_until_interrupted
    from meshlake.platform import ConfigurationError, Settings

    settings = Settings()
    try:
        home = daemon_home(settings)
    except ConfigurationError as error:
        fail(str(error))
    workspace = write_workspace(settings, home)
    with governed(settings) as governed_settings:
        env = child_environment(settings, governed_settings, home, **{AUTOMATION_VARIABLE: "true"})
        ui_note = f", Dagster UI on http://127.0.0.1:{ui_port}" if ui_port is not None else ""
        note(
            f"Dagster daemon on the PostgreSQL instance in {home} (workspace {workspace}){ui_note}, "
            f"publishing through governance at {governed_settings.governance_url}; Ctrl-C stops it"
        )
        code = run_until_interrupted(daemon_command(workspace, ui_port), env)
    if code not in (0, 130):
        fail(f"the Dagster daemon exited with status {code}")


def register(app: typer.Typer) -> None:
    app.command("materialize")(materialize)
    app.command("run")(run)
    app.command("ui")(ui)
    app.command("daemon")(daemon)
