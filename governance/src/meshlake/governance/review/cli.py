"""``meshlake review --base REF``: the pull-request review, as Markdown (default) or JSON.

Exit codes: 0 clean, 1 violations, 2 usage error (not a git repository, unknown ref). The changes
are judged with the base ref's policies; a change to the policies is listed, never a violation by
itself (only a policy folder that does not load is).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from meshlake.platform.cli.output import document, fail


class Format(StrEnum):
    markdown = "markdown"
    json = "json"


def review_command(
    base: Annotated[str, typer.Option(help="The git ref to compare with, e.g. origin/main.")],
    output: Annotated[
        Format, typer.Option("--format", help="markdown (a PR comment) or json.")
    ] = Format.markdown,
    root: Annotated[
        Path | None,
        typer.Option(help="The project folder (default: MESHLAKE_PROJECT or the nearest one)."),
    ] = None,
) -> None:
    """Review spec changes against a git ref: breaking changes, consumers hit, policies."""
    from meshlake.governance.review._errors import ReviewUsageError
    from meshlake.governance.review._report import to_json, to_markdown
    from meshlake.governance.review._review import review
    from meshlake.platform import MeshlakeError, Settings

    settings = Settings()
    try:
        project = root if root is not None else settings.project_root()
    except MeshlakeError as exc:
        fail(str(exc), 2)
    token = settings.governance_token.get_secret_value() if settings.governance_token else None
    try:
        report = review(
            project, base, governance_url=settings.governance_url, governance_token=token
        )
    except ReviewUsageError as exc:
        fail(str(exc), 2)
    document(to_json(report) if output is Format.json else to_markdown(report))
    raise typer.Exit(report.exit_code)
