"""The run summary (one row per output port) laid out for the terminal's width, never cutting a name.

A product name cut to ``sales.acc…`` is useless, so the layout changes instead of the names: one table
when it fits; else each product on a line of its own with its ports indented beneath, in one column;
else (a very narrow terminal) one line per product and per port, with the figures wrapped after them.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from meshlake.platform.cli._output import console

_NUMERIC = {"rows", "version", "seconds", "files"}
_FREE_TEXT = {"status", "checks", "gate"}
"""Columns whose cells are words: they may wrap at spaces. Every other cell is kept on one line."""
_INDENT = "  "
_SHORT = {"version": "ver", "seconds": "secs"}
"""Headers the stacked layout shortens: their figures are narrower than the words."""


def summary_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    key: str = "product",
    sub: str = "port",
) -> None:
    """Print ``rows`` under ``title``; ``key`` (and ``sub``, when a column) are names to keep whole."""
    console.print(render_summary(console, title, columns, rows, key, sub))


def render_summary(
    target: Console,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    key: str = "product",
    sub: str = "port",
) -> RenderableType:
    """The first layout in which every name stays whole at ``target``'s width."""
    cells = [[str(cell) for cell in row] for row in rows]
    # Every word of every cell, names first: a layout that has to break one is not taken.
    words = {word for row in cells for cell in row for word in cell.split()}
    for layout in (_one_table, _stacked):
        candidate = layout(title, list(columns), cells, key, sub, target.width)
        if candidate is not None and _keeps_whole(target, candidate, words):
            return candidate
    return _records(title, list(columns), cells, key, sub)


def _table(
    title: str, columns: list[str], cells: list[list[str]], width: int
) -> RenderableType | None:
    """A table whose column widths are set here, or None when it cannot fit ``width``.

    Rich would squeeze the widest wrapping column below its longest word, so the widths are chosen
    here: every column at its widest if that fits, else word columns narrowed (never below their
    longest word), the room left shared among them.
    """
    natural = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    least = [
        max(len(word) for text in [name, *(row[i] for row in cells)] for word in text.split())
        if name in _FREE_TEXT
        else natural[i]
        for i, name in enumerate(columns)
    ]
    room = width - (len(columns) - 1)  # one space between columns
    if sum(least) > room:
        return None
    widths = list(natural)
    free = [i for i, name in enumerate(columns) if name in _FREE_TEXT]
    while sum(widths) > room:
        widest = max(free, key=lambda i: widths[i] - least[i])
        widths[widest] -= 1
    # No vertical rules, one space between columns (the box's blank divider): borders cost a
    # product name its room.
    view = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=0,
    )
    for i, name in enumerate(columns):
        view.add_column(
            name,
            justify="right" if name in _NUMERIC or name in _SHORT.values() else "left",
            no_wrap=name not in _FREE_TEXT,
            overflow="fold",
            width=widths[i],
        )
    for row in cells:
        view.add_row(*row)
    return view


def _one_table(
    title: str, columns: list[str], cells: list[list[str]], key: str, sub: str, width: int
) -> RenderableType | None:
    return _table(title, columns, cells, width)


def _stacked(
    title: str, columns: list[str], cells: list[list[str]], key: str, sub: str, width: int
) -> RenderableType | None:
    """The product on a row of its own, its ports indented beneath it in the same column."""
    at = columns.index(key)
    inner = columns.index(sub) if sub in columns else None
    rest = [i for i in range(len(columns)) if i not in (at, inner)]
    heading = f"{key} / {sub}" if inner is not None else key
    rows: list[list[str]] = []
    for product, group in _grouped(cells, at):
        if inner is None:
            rows.extend([product, *(row[i] for i in rest)] for row in group)
            continue
        rows.append([product, *("" for _ in rest)])
        rows.extend([_INDENT + row[inner], *(row[i] for i in rest)] for row in group)
    names = [heading, *(_SHORT.get(columns[i], columns[i]) for i in rest)]
    return _table(title, names, rows, width)


def _records(
    title: str, columns: list[str], cells: list[list[str]], key: str, sub: str
) -> RenderableType:
    """One line per product and per port, then its figures as ``column=value`` pairs that wrap
    under their own indent."""
    at = columns.index(key)
    inner = columns.index(sub) if sub in columns else None
    parts: list[RenderableType] = [Text(title)]
    for product, group in _grouped(cells, at):
        parts.append(Text(product))
        for row in group:
            if inner is not None:
                parts.append(Text(_INDENT + row[inner]))
            figures = [
                f"{columns[i]}={row[i]}" for i in range(len(columns)) if i not in (at, inner)
            ]
            parts.append(Padding(Text("  ".join(figures)), (0, 0, 0, 2 * len(_INDENT))))
    return Group(*parts)


def _grouped(cells: list[list[str]], at: int) -> list[tuple[str, list[list[str]]]]:
    groups: dict[str, list[list[str]]] = {}
    for row in cells:
        groups.setdefault(row[at], []).append(row)
    return list(groups.items())


def _keeps_whole(target: Console, candidate: RenderableType, words: set[str]) -> bool:
    lines = [
        "".join(segment.text for segment in line)
        for line in target.render_lines(candidate, target.options, pad=False)
    ]
    shown = {word for line in lines for word in line.split()}
    return words <= shown and not any("…" in line for line in lines)
