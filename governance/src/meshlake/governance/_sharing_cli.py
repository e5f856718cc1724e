"""`meshlake sharing ...` and `meshlake sla status`: sharing agreements from the terminal.

Every command talks to the governance service over HTTP (MESHLAKE_GOVERNANCE_URL with
MESHLAKE_GOVERNANCE_TOKEN; without a URL, the embedded service on this project's database), so it
is judged and audited like any other client. Refusals print governance's reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from meshlake.platform import Settings
from meshlake.platform.cli.output import fail, note, say, table

sharing = typer.Typer(
    help="Sharing agreements: request access to another domain's ports, decide, revoke, renew.",
    no_args_is_help=True,
)


@contextmanager
def _client() -> Iterator[Any]:
    """The governance client (see ``governance_client``); its refusals end the command with
    governance's reason."""
    from meshlake.governance._embedded import governance_client
    from meshlake.platform import GovernanceError, Settings

    settings = Settings()
    if settings.governance_url is None:
        note(f"embedded governance on {settings.state_home()}")
    with governance_client(settings) as client:
        try:
            yield client
        except GovernanceError as exc:
            fail(exc.detail)


def _consumer(text: str) -> dict[str, str]:
    kind, _, name = text.partition(":")
    if not name or kind not in ("product", "person", "team", "external"):
        raise typer.BadParameter(
            "write kind:id, kind one of product, person, team, external "
            "(e.g. product:sales.account_manager_performance)"
        )
    return {"kind": kind, "id": name}


def _rows(items: list[str]) -> dict[str, list[str]]:
    scope: dict[str, list[str]] = {}
    for item in items:
        column, equals, values = item.partition("=")
        if not equals or not column or not values:
            raise typer.BadParameter(f"{item!r}: write column=value[,value...]")
        scope[column] = values.split(",")
    return scope


def _show(agreement: dict[str, Any]) -> None:
    consumer = agreement["consumer"]
    say(f"{agreement['name']}: {agreement['state']}")
    say(f"  consumer  {consumer['kind']} {consumer['id']}")
    say(f"  provider  {agreement['provider_domain']}  for {agreement['purpose']}")
    say(f"  period    {agreement['start']} to {agreement['end']}")
    for port in agreement["ports"]:
        columns = ", ".join(port["columns"]) if port["columns"] else "all columns"
        masked = f"; masked: {', '.join(port['masked'])}" if port["masked"] else ""
        rows = f"; rows: {port['rows']}" if port["rows"] else ""
        say(f"  port      {port['port']}: {columns}{masked}{rows}")
    decision = agreement.get("decision") or {}
    for reason in decision.get("reasons", []):
        say(f"  policy    {reason['policy']} [{reason['severity']}]: {reason['message']}")
    if agreement.get("offer"):
        say(f"  offer     {agreement['offer']}")


@sharing.command("request")
def request(
    name: Annotated[str, typer.Argument(help="The agreement's name, e.g. sales-reads-employees.")],
    consumer: Annotated[
        str, typer.Option(help="kind:id, e.g. product:sales.account_manager_performance")
    ],
    port: Annotated[list[str], typer.Option(help="domain.product.port; repeatable")],
    purpose: Annotated[str, typer.Option(help="What the data is for, e.g. analytics.")],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD.")],
    start: Annotated[str | None, typer.Option(help="First day (default: today).")] = None,
    column: Annotated[
        list[str] | None, typer.Option(help="A column to receive (default: all); repeatable")
    ] = None,
    masked: Annotated[list[str] | None, typer.Option(help="A column to mask; repeatable")] = None,
    rows: Annotated[
        list[str] | None, typer.Option(help="Row scope column=value[,value]; repeatable")
    ] = None,
    sponsor: Annotated[
        str | None, typer.Option(help="The domain sponsoring a person, team or recipient.")
    ] = None,
    legal_basis: Annotated[str | None, typer.Option(help="For plain personal data.")] = None,
) -> None:
    """Ask another domain's owner for access to output ports (judged by the sharing policies)."""
    body: dict[str, Any] = {
        "name": name,
        "consumer": {**_consumer(consumer), **({"domain": sponsor} if sponsor else {})},
        "purpose": purpose,
        "legal_basis": legal_basis,
        "start": start or date.today().isoformat(),
        "end": end,
        "ports": [
            {
                "port": ref,
                "columns": column or None,
                "masked": masked or [],
                "rows": _rows(rows or []),
            }
            for ref in port
        ],
    }
    with _client() as client:
        _show(client.request("POST", "/api/v1/agreements", body))


def _transition(action: str) -> Callable[..., None]:
    def command(
        name: Annotated[str, typer.Argument(help="The agreement's name.")],
        reason: Annotated[str | None, typer.Option(help="Why, kept with the transition.")] = None,
    ) -> None:
        with _client() as client:
            body = {"reason": reason}
            _show(client.request("POST", f"/api/v1/agreements/{name}/{action}", body))

    return command


sharing.command("approve", help="Approve a request (the providing domain's owner).")(
    _transition("approve")
)
sharing.command("reject", help="Reject a request or a counter-offer.")(_transition("reject"))
sharing.command("revoke", help="Revoke (provider) or withdraw (consumer): the next read stops.")(
    _transition("revoke")
)
sharing.command("accept", help="Accept the provider's counter-offer (the consumer).")(
    _transition("accept")
)


@sharing.command("renew")
def renew(
    name: Annotated[str, typer.Argument(help="The agreement's name.")],
    end: Annotated[str, typer.Option(help="The new last day, YYYY-MM-DD.")],
    reason: Annotated[str | None, typer.Option(help="Why, kept with the transition.")] = None,
) -> None:
    """Renew an agreement until ``end`` (the providing domain's owner), judged again."""
    with _client() as client:
        body = {"end": end, "reason": reason}
        _show(client.request("POST", f"/api/v1/agreements/{name}/renew", body))


@sharing.command("profile")
def profile(
    name: Annotated[str, typer.Argument(help="The agreement whose recipient gets the profile.")],
    output: Annotated[
        Path | None,
        typer.Option(help="Write the profile here (default: <agreement>.share in this folder)."),
    ] = None,
) -> None:
    """Issue the agreement's recipient a token and write its Delta Sharing profile file (the
    providing domain's owner). Hand the file to the recipient over a safe channel: it holds the
    token."""
    target = output or Path(f"{name}.share")
    with _client() as client:
        issued = client.request("POST", f"/api/v1/agreements/{name}/recipient-token")
    if Settings().governance_url is None:
        note(
            "the profile's endpoint is the embedded service of this command, gone when it ends; "
            "set MESHLAKE_GOVERNANCE_URL to the service recipients reach"
        )
    target.write_text(json.dumps(issued["profile"], indent=2) + "\n")
    target.chmod(0o600)
    say(
        f"{target}: profile for {issued['recipient']} on share {name}, token {issued['token_id']} "
        f"expires {issued['expires_at']}"
    )


@sharing.command("list")
def list_agreements(
    state: Annotated[str | None, typer.Option(help="Only agreements in this state.")] = None,
    port: Annotated[str | None, typer.Option(help="Only agreements on this port.")] = None,
) -> None:
    """The agreements you may see: your own and your domains' (all for an admin)."""
    params = {key: value for key, value in (("state", state), ("port", port)) if value}
    with _client() as client:
        found = client.request("GET", "/api/v1/agreements", params=params)
    if not found:
        say("no agreements")
        return
    table(
        "sharing agreements",
        ["name", "state", "consumer", "ports", "purpose", "until"],
        [
            [
                item["name"],
                item["state"],
                f"{item['consumer']['kind']} {item['consumer']['id']}",
                ", ".join(port["port"] for port in item["ports"]),
                item["purpose"],
                item["end"],
            ]
            for item in found
        ],
    )


@sharing.command("show")
def show(name: Annotated[str, typer.Argument(help="The agreement's name.")]) -> None:
    """One agreement, its terms, the policies' reasons and its history."""
    with _client() as client:
        _show(client.request("GET", f"/api/v1/agreements/{name}"))
        for event in client.request("GET", f"/api/v1/agreements/{name}/events"):
            say(f"  {event['at']}  {event['actor']}: {event['action']} -> {event['to_state']}")


sla = typer.Typer(help="The SLAs promised by sharing agreements.", no_args_is_help=True)


@sla.command("status")
def sla_status(
    agreement: Annotated[
        str | None, typer.Argument(help="One agreement (default: every active one you see).")
    ] = None,
    evaluate: Annotated[
        bool, typer.Option("--evaluate", help="Measure now instead of showing the last result.")
    ] = False,
) -> None:
    """Each agreement's SLA: every term, met or missed, with what was measured."""
    with _client() as client:
        if agreement is not None:
            names = [agreement]
        else:
            active = client.request("GET", "/api/v1/agreements", params={"state": "active"})
            names = [item["name"] for item in active]
        rows = []
        for name in names:
            if evaluate:
                found = client.request("POST", f"/api/v1/agreements/{name}/sla/evaluate")
                latest = found["evaluations"]
            else:
                latest = client.request(
                    "GET", f"/api/v1/agreements/{name}/sla", params={"limit": 1}
                )
            if not latest:
                rows.append([name, "", "not measured yet", "", "", ""])
            for evaluation in latest:
                for item in evaluation["results"]:
                    rows.append(
                        [
                            name,
                            evaluation["port"],
                            item["property"],
                            item["status"],
                            item["measured"] or "",
                            item["promised"] or "",
                        ]
                    )
        incidents = client.request("GET", "/api/v1/incidents", params={"state": "open"})
    if not rows:
        say("no active agreements")
    else:
        table("SLA status", ["agreement", "port", "term", "status", "measured", "promised"], rows)
    for incident in incidents:
        say(
            f"incident {incident['id']} open since {incident['opened_at']} on {incident['port']}: "
            f"{', '.join(incident['breached'])} (agreements {', '.join(incident['agreements'])})"
        )
    if any(row[3] == "missed" for row in rows):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(sharing, name="sharing")
    app.add_typer(sla, name="sla")
