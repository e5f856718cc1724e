"""`meshlake governance ...`: migrate the database, serve the API, manage tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from meshlake.governance.services._access import Caller
from meshlake.platform.cli.output import fail, note, say, table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from meshlake.governance.db._tables import ApiToken

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
            help="Server processes (PostgreSQL only; SQLite has one writer). More than one "
            "spreads request parsing (lineage ingest) over cores.",
        ),
    ] = 1,
    log_format: Annotated[
        str | None,
        typer.Option(
            help="text (default: warnings and errors) or json (one object per line on stderr, "
            "with an access line per request); default MESHLAKE_LOG_FORMAT.",
        ),
    ] = None,
) -> None:
    """Run the governance API (migrating the database first); docs at /docs, metrics at /metrics,
    probes at /healthz and /readyz."""
    from pydantic import ValidationError

    from meshlake.governance import GovernanceError, GovernanceSettings
    from meshlake.governance._serve import serve as run_server

    overrides: dict[str, Any] = {"log_format": log_format} if log_format is not None else {}
    try:
        settings = GovernanceSettings(**overrides)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        fail(f"--{where.replace('_', '-')}: {problem['msg']} (text or json)")
    if settings.log_format == "text":
        note(
            f"governance service on http://{host}:{port} (docs at /docs, metrics at /metrics), "
            f"{workers} worker(s)"
        )
    try:
        run_server(settings, host=host, port=port, workers=workers, log_format=settings.log_format)
    except GovernanceError as exc:
        fail(str(exc))


class _TokenGroup(TyperGroup):
    """``token NAME ...`` (the form before the lifecycle commands) still means ``token issue NAME``."""

    # ctx is typer's vendored click Context, which typer does not export under a public name.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["issue", *args]
        return super().parse_args(ctx, args)


tokens = typer.Typer(
    cls=_TokenGroup,
    help="Bearer tokens: issue, list, rotate, revoke (on MESHLAKE_DATABASE_URL, as admin 'cli').",
    no_args_is_help=True,
)
governance.add_typer(tokens, name="token")

# The CLI acts on the database directly, as the platform admin; its audit entries name "cli".
_CLI = Caller("cli", "service", frozenset({("admin", None)}))


@contextmanager
def _admin_session() -> Iterator[tuple[Session, int]]:
    """A transaction on the governance database (migrated first) and the longest token lifetime.

    A governance refusal (unknown token, bad expiry) ends the command with its message, exit 1.
    """
    from meshlake.governance import GovernanceError, GovernanceSettings, upgrade
    from meshlake.governance.db._engine import make_engine, session_factory

    settings = GovernanceSettings()
    url = settings.resolved_database_url()
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session, session.begin():
            yield session, settings.token_max_days
    except GovernanceError as exc:
        fail(str(exc))
    finally:
        engine.dispose()


@tokens.command("issue")
def token_issue(
    name: Annotated[str, typer.Argument(help="A person's e-mail or a service account's name.")],
    kind: Annotated[str, typer.Option(help="person or service")] = "person",
    role: Annotated[
        list[str] | None,
        typer.Option(
            help="role, role:domain or zone_service:zone, e.g. domain_owner:hr or "
            "zone_service:emea (a service's role); repeatable"
        ),
    ] = None,
    expires_in_days: Annotated[
        int | None,
        typer.Option(
            min=1, help="Lifetime in days (default and maximum: MESHLAKE_TOKEN_MAX_DAYS, 365)."
        ),
    ] = None,
    description: Annotated[str, typer.Option(help="What the token is for.")] = (
        "created with meshlake governance token"
    ),
) -> None:
    """Create a principal (if new) with its roles, and print a new bearer token for it, once."""
    from meshlake.governance.db._tables import utcnow
    from meshlake.governance.services import _access, _audit, _tokens

    grants = [
        (item.split(":", 1)[0], item.split(":", 1)[1] if ":" in item else None)
        for item in role or []
    ]
    with _admin_session() as (session, max_days):
        ends = _tokens.expiry(
            utcnow(), expires_at=None, expires_in_days=expires_in_days, max_days=max_days
        )
        principal = _access.ensure_principal(session, name, kind, grants)
        row, secret = _access.issue(session, principal, description, expires_at=ends)
        _audit.record(
            session,
            principal="cli",
            action="principal.token_issued",
            target=name,
            after={"grants": grants, "token": row.id, "expires_at": _access.stamp(ends)},
        )
    note(f"token {row.id} for {name}, expires {_access.stamp(ends)}; shown once:")
    say(secret)


@tokens.command("list")
def token_list(
    principal: Annotated[str | None, typer.Option(help="Only this principal's tokens.")] = None,
    active: Annotated[bool, typer.Option(help="Only tokens neither revoked nor expired.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """List tokens (never their secrets): status, expiry, last use."""
    from meshlake.governance.db._tables import utcnow
    from meshlake.governance.services import _tokens

    with _admin_session() as (session, _):
        rows = _tokens.list_tokens(
            session, _CLI, principal=principal, active_only=active, limit=limit
        )
        now = utcnow()
        cells = [_token_row(row, _tokens.status(row, now)) for row in rows]
    table("tokens", _TOKEN_COLUMNS, cells)


@tokens.command("rotate")
def token_rotate(
    token_id: Annotated[int, typer.Argument(help="The token's id (see 'token list').")],
    expires_in_days: Annotated[
        int | None,
        typer.Option(min=1, help="Lifetime of the new token (default: the old one's lifetime)."),
    ] = None,
    grace_seconds: Annotated[
        int, typer.Option(min=0, help="How long the old token keeps working (default 0).")
    ] = 0,
) -> None:
    """Replace a token by a new secret for the same principal, and print the secret once."""
    from meshlake.governance.services import _access, _tokens

    with _admin_session() as (session, max_days):
        new, secret, old = _tokens.rotate(
            session,
            _CLI,
            token_id,
            expires_at=None,
            expires_in_days=expires_in_days,
            grace_seconds=grace_seconds,
            max_days=max_days,
        )
        stops = _access.stamp(old.revoked_at or old.expires_at)
    note(
        f"token {new.id} replaces token {old.id} (which stops at {stops}); "
        f"expires {_access.stamp(new.expires_at)}; shown once:"
    )
    say(secret)


@tokens.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see 'token list').")],
) -> None:
    """Revoke a token: its next request is refused (401)."""
    from meshlake.governance.db._tables import utcnow
    from meshlake.governance.services import _tokens

    with _admin_session() as (session, _):
        row = _tokens.revoke(session, _CLI, token_id)
        cells = [_token_row(row, _tokens.status(row, utcnow()))]
    table("revoked", _TOKEN_COLUMNS, cells)


_TOKEN_COLUMNS = (
    "id",
    "principal",
    "prefix",
    "status",
    "created",
    "expires",
    "last used",
    "revoked",
    "description",
)


def _token_row(row: ApiToken, status: str) -> list[str]:
    return [
        str(row.id),
        row.principal.name,
        row.prefix,
        status,
        _minute(row.created_at),
        _minute(row.expires_at) if row.expires_at else "no expiry",
        _minute(row.last_used_at) if row.last_used_at else "never",
        _minute(row.revoked_at),
        row.description or "",
    ]


def _minute(moment: datetime | None) -> str:
    """A UTC time to the minute: short enough for a table on an 80-column terminal."""
    from meshlake.governance.services._access import as_utc

    return as_utc(moment).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


@governance.command("sync")
def sync() -> None:
    """Register every zone, domain and product of the specs, then the glossary, in the catalog.

    Uses MESHLAKE_GOVERNANCE_URL and MESHLAKE_GOVERNANCE_TOKEN; without a URL, the embedded service
    on this project's database.
    """
    from meshlake.governance import sync_catalog
    from meshlake.governance._embedded import governance_client
    from meshlake.platform import Platform, Settings

    settings = Settings()
    with governance_client(settings) as client:
        synced = sync_catalog(client, Platform(settings).mesh, settings.state_home())
        url = client.url
    say(
        f"registered {len(synced.products)} products, {len(synced.terms)} glossary terms and "
        f"{len(synced.agreements)} sharing agreements in the catalog at {url}"
    )
    for agreement in synced.agreements:
        say(f"  agreement {agreement.name}: {agreement.state}")
        if agreement.note:
            note(f"    {agreement.note}")


def register(app: typer.Typer) -> None:
    app.add_typer(governance, name="governance")
    from meshlake.governance._sharing_cli import register as register_sharing

    register_sharing(app)
    from meshlake.governance._query_cli import register as register_query

    register_query(app)
    from meshlake.governance._zones_cli import register as register_zones

    register_zones(app)
    from meshlake.governance.review.cli import review_command

    app.command("review")(review_command)
