"""The CLI's output layer: the only module that writes to the terminal."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def say(message: str = "") -> None:
    console.print(message, markup=False)


def note(message: str) -> None:
    errors.print(message, markup=False, style="dim")


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"error: {message}", markup=False, style="red")
    raise typer.Exit(code)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    view = Table(title=title, title_justify="left", show_lines=False)
    for name in columns:
        view.add_column(name, justify="right" if name in _NUMERIC else "left")
    for row in rows:
        view.add_row(*(str(cell) for cell in row))
    console.print(view)


_NUMERIC = {"rows", "version", "seconds", "files"}


def document(text: str) -> None:
    """Write a document (Markdown, JSON) exactly as given: no wrapping, markup or emoji codes."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
