"""`meshlake zones plan` and `meshlake zones apply`: landing zones as code from the terminal.

Both talk to governance over HTTP (MESHLAKE_GOVERNANCE_URL with an admin MESHLAKE_GOVERNANCE_TOKEN;
without a URL, the embedded service on this project's database). `plan` exits like terraform's
``-detailed-exitcode``: 0 when nothing would change, 2 when something would, 1 on an error
(a bad zone file, a refused removal, governance unreachable).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from meshlake.platform.cli.output import fail, note, say

if TYPE_CHECKING:
    from meshlake.governance._zones import ZonePlan
    from meshlake.platform import GovernanceClient, Mesh

NO_CHANGES = 0
ERROR = 1
CHANGES = 2

zones = typer.Typer(
    help="Landing zones as code: plan and apply infra/landing-zones/*.yaml.",
    no_args_is_help=True,
)

RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="The project folder (holding infra/ and domains/); default: MESHLAKE_PROJECT or the "
        "nearest parent.",
        file_okay=False,
        exists=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")]


@zones.command("plan")
def plan(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Show what apply would change, grouped; exit 0 (no changes), 2 (changes) or 1 (error)."""
    from meshlake.governance._zones import plan_json, plan_zones

    with _session(root) as (client, mesh, state_home):
        result = plan_zones(client, mesh, state_home)
    if as_json:
        say(plan_json(result))
    else:
        _show(result)
    if result.refused:
        raise typer.Exit(ERROR)
    raise typer.Exit(CHANGES if result.changed else NO_CHANGES)


@zones.command("apply")
def apply(root: RootOption = None) -> None:
    """Make storage, governance and the Dagster workspace match the zone files; a second apply
    changes nothing."""
    from meshlake.governance._zones import apply_zones

    with _session(root) as (client, mesh, state_home):
        result = apply_zones(client, mesh, state_home)
    _show(result, applied=True)


@contextmanager
def _session(root: Path | None) -> Iterator[tuple[GovernanceClient, Mesh, Path]]:
    """The mesh under ``root`` and a governance client (see ``governance_client``); governance's
    refusals end the command with its reason."""
    from meshlake.governance._embedded import governance_client
    from meshlake.governance._zones import ZonesError
    from meshlake.platform import GovernanceError, MeshlakeError, Settings
    from meshlake.platform.specs import load_mesh

    settings = Settings(project=root) if root is not None else Settings()
    try:
        mesh = load_mesh(settings.project_root())
    except MeshlakeError as exc:
        fail(str(exc))
    if settings.governance_url is None:
        note(f"embedded governance on {settings.state_home()}")
    with governance_client(settings) as client:
        try:
            yield client, mesh, settings.state_home()
        except GovernanceError as exc:
            fail(exc.detail)
        except ZonesError as exc:
            fail(str(exc))


def _show(result: ZonePlan, *, applied: bool = False) -> None:
    for group, changes in result.grouped().items():
        if group == "policies":
            continue
        say(f"{group}:")
        if not changes:
            say("  (no changes)")
        for change in changes:
            detail = f"  ({change.detail})" if change.detail else ""
            say(f"  {change.action} {change.target}{detail}")
    say("policies (which apply to which zone):")
    for zone, policies in result.policies.items():
        shown = ", ".join(policies) or "none"
        if policies == result.all_policies:
            shown = (
                f"all {len(policies)} ({', '.join(sorted({p.split('.')[0] for p in policies}))})"
            )
        say(f"  {zone}: {shown}")
    for change in result.grouped()["policies"]:
        say(f"  {change.action} {change.target} ({change.detail})")
    for item in result.notes:
        say(f"note: {item}")
    for item in result.refused:
        say(f"refused: {item}")
    count = len(result.changes)
    if applied:
        say(f"applied: {count} change(s)" if count else "no changes: the zones are as declared")
    elif result.refused:
        say("apply would be refused; nothing changes")
    else:
        say(f"plan: {count} change(s); run `meshlake zones apply`" if count else "no changes")


def register(app: typer.Typer) -> None:
    app.add_typer(zones, name="zones")
