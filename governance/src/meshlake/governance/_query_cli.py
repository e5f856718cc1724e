"""`meshlake query "SQL"`: governed SQL from the terminal, through ``POST /api/v1/query``.

It talks to the governance service over HTTP like any client (MESHLAKE_GOVERNANCE_URL with
MESHLAKE_GOVERNANCE_TOKEN; without a URL, the embedded service on this project's database), so the
query is checked, masked, filtered and audited the same way. It follows the pages until ``--limit``
rows or the end. Exit 1 when governance refuses the query (its reason is printed), 2 when it cannot
be reached or the command is used wrongly.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from meshlake.platform.cli.output import document, fail, note, table

ARROW_STREAM = "application/vnd.apache.arrow.stream"
_PAGE = 1000


def query_command(
    sql: Annotated[str, typer.Argument(help="One SELECT over tables named domain.product.port.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="table, json, csv or arrow (an Arrow IPC stream).")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (arrow needs one).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many rows (default: all pages).")
    ] = None,
) -> None:
    """Run read-only SQL over the products you may read, with your agreements' masks and row
    scopes applied; every query is audited."""
    if format not in ("table", "json", "csv", "arrow"):
        raise typer.BadParameter(
            f"{format!r}: use table, json, csv or arrow", param_hint="--format"
        )
    if format == "arrow" and output is None:
        raise typer.BadParameter(
            "an Arrow stream is binary: give --output FILE", param_hint="--output"
        )
    from meshlake.governance._embedded import governance_client
    from meshlake.platform import GovernanceError, GovernanceUnavailable, Settings

    settings = Settings()
    if settings.governance_url is None:
        note(f"embedded governance on {settings.state_home()}")
    with governance_client(settings) as client:
        try:
            if format == "arrow":
                assert output is not None
                _write_arrow(client, sql, limit, output)
                return
            answer = _json_pages(client, sql, limit)
        except GovernanceUnavailable as exc:
            fail(exc.detail, code=2)
        except GovernanceError as exc:
            fail(exc.detail)
    _show(answer, format, output)


def _json_pages(client: Any, sql: str, limit: int | None) -> dict[str, Any]:
    """Every page (up to ``limit`` rows) merged into one answer."""
    body: dict[str, Any] = {"sql": sql, "format": "json"}
    rows: list[list[Any]] = []
    answer: dict[str, Any] = {}
    while True:
        wanted = _PAGE if limit is None else min(_PAGE, limit - len(rows))
        answer = client.request("POST", "/api/v1/query", {**body, "page_size": wanted})
        rows.extend(answer["rows"])
        if not answer["next_page"] or (limit is not None and len(rows) >= limit):
            break
        body["page"] = answer["next_page"]
    more = answer["truncated"] or bool(answer["next_page"])
    return {**answer, "rows": rows, "row_count": len(rows), "more": more}


def _write_arrow(client: Any, sql: str, limit: int | None, output: Path) -> None:
    import pyarrow as pa

    body: dict[str, Any] = {"sql": sql, "format": "arrow"}
    tables: list[pa.Table] = []
    taken = 0
    while True:
        wanted = _PAGE if limit is None else min(_PAGE, limit - taken)
        content, headers = client.post_for_bytes(
            "/api/v1/query", {**body, "page_size": wanted}, ARROW_STREAM
        )
        tables.append(pa.ipc.open_stream(content).read_all())
        taken += tables[-1].num_rows
        cursor = headers.get("meshlake-next-page")
        if not cursor or (limit is not None and taken >= limit):
            break
        body["page"] = cursor
    result = pa.concat_tables(tables)
    with pa.OSFile(str(output), "wb") as sink, pa.ipc.new_stream(sink, result.schema) as writer:
        writer.write_table(result)
    note(f"{result.num_rows} rows written to {output} ({headers.get('meshlake-ports', '')})")


def _show(answer: dict[str, Any], format: str, output: Path | None) -> None:
    names = [column["name"] for column in answer["columns"]]
    if format == "table" and output is None:
        table(f"{answer['row_count']} rows", names, [_cells(row) for row in answer["rows"]])
    else:
        text = _render(answer, names, format)
        if output is None:
            document(text)
        else:
            output.write_text(text if text.endswith("\n") else text + "\n")
            note(f"{answer['row_count']} rows written to {output}")
    read = ", ".join(
        f"{port['port']}@{port['version']}"
        + (f" under {port['agreement']}" if port["agreement"] else "")
        for port in answer["ports"]
    )
    note(f"read {read or 'no governed table'}")
    if answer["more"]:
        note("more rows than shown: narrow the query or raise --limit")


def _render(answer: dict[str, Any], names: list[str], format: str) -> str:
    if format == "json":
        keep = ("columns", "rows", "row_count", "truncated", "ports")
        return json.dumps({key: answer[key] for key in keep}, indent=2)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(_cells(row) for row in answer["rows"])
    return buffer.getvalue()


def _cells(row: list[Any]) -> list[str]:
    return ["" if value is None else _cell(value) for value in row]


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def register(app: typer.Typer) -> None:
    app.command("query")(query_command)
