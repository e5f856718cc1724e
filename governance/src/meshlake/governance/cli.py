"""`meshlake governance ...`: migrate the database, serve the API, create tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from meshlake.platform.cli._output import note, say

governance = typer.Typer(
    help="The governance service: catalog, search, lineage, access, audit.", no_args_is_help=True
)


@governance.command("migrate")
def migrate(
    revision: Annotated[str, typer.Argument(help="Alembic revision to upgrade to.")] = "head",
) -> None:
    """Bring the governance database to ``revision`` (MESHLAKE_DATABASE_URL; SQLite by default)."""
    from meshlake.governance import GovernanceSettings, upgrade

    url = GovernanceSettings().resolved_database_url()
    upgrade(url, revision)
    say(f"governance database at {revision}: {url.split('@')[-1]}")


@governance.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8686,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes. More than one spreads request parsing (lineage ingest) over "
            "cores; the database still serialises the commits.",
        ),
    ] = 1,
) -> None:
    """Run the governance API (migrating the database first); OpenAPI docs at /docs."""
    import uvicorn

    from meshlake.governance import GovernanceSettings, create_app, upgrade

    settings = GovernanceSettings()
    upgrade(settings.resolved_database_url())
    note(f"governance service on http://{host}:{port} (docs at /docs), {workers} process(es)")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        return
    # Each worker process builds its app from the same MESHLAKE_ environment.
    uvicorn.run(
        "meshlake.governance.api._app:create_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
    )


@governance.command("token")
def token(
    name: Annotated[str, typer.Argument(help="A person's e-mail or a service account's name.")],
    kind: Annotated[str, typer.Option(help="person or service")] = "person",
    role: Annotated[
        list[str] | None,
        typer.Option(
            help="role, role:domain or zone_service:zone, e.g. domain_owner:hr or "
            "zone_service:emea (a service's role); repeatable"
        ),
    ] = None,
) -> None:
    """Create a principal (if new) with its roles, and print a new bearer token for it, once."""
    from meshlake.governance import GovernanceSettings, upgrade
    from meshlake.governance.db._engine import make_engine, session_factory
    from meshlake.governance.services import _access, _audit

    url = GovernanceSettings().resolved_database_url()
    upgrade(url)
    grants = [
        (item.split(":", 1)[0], item.split(":", 1)[1] if ":" in item else None)
        for item in role or []
    ]
    engine = make_engine(url)
    with session_factory(engine)() as session, session.begin():
        principal = _access.ensure_principal(session, name, kind, grants)
        secret = _access.issue_token(session, principal, "created with meshlake governance token")
        _audit.record(
            session,
            principal="cli",
            action="principal.token_issued",
            target=name,
            after={"grants": grants},
        )
    engine.dispose()
    say(secret)


@governance.command("sync")
def sync() -> None:
    """Register every zone, domain and product of the specs, then the glossary, in the catalog.

    Uses MESHLAKE_GOVERNANCE_URL and MESHLAKE_GOVERNANCE_TOKEN; without a URL, the embedded service
    on this project's database.
    """
    from meshlake.governance import start_embedded, sync_catalog
    from meshlake.platform import Platform, Settings
    from meshlake.platform._governance import GovernanceClient

    settings = Settings()
    embedded = None
    url, token = settings.governance_url, settings.governance_token
    if url is None:
        embedded = start_embedded(settings.state_home())
        url, secret = embedded.url, embedded.token
    else:
        secret = token.get_secret_value() if token else ""
    try:
        mesh = Platform(settings).mesh
        with GovernanceClient(url, secret) as client:
            products, terms = sync_catalog(client, mesh, settings.state_home())
    finally:
        if embedded is not None:
            embedded.stop()
    say(
        f"registered {len(products)} products and {len(terms)} glossary terms in the catalog at {url}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(governance, name="governance")
    from meshlake.governance._sharing_cli import register as register_sharing

    register_sharing(app)
    from meshlake.governance.review.cli import review_command

    app.command("review")(review_command)
