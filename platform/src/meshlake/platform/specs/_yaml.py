"""YAML loading that remembers where each value came from.

Spec errors must name the line a user has to edit, so every mapping key and sequence item keeps the
line it was written on, keyed by its path (``("schema", 0, "properties", 3, "logicalType")``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

# libyaml's composer when PyYAML has it: the same nodes and marks, about six times faster than the
# pure-Python one, which dominated loading a large mesh (benchmarks/review_mesh.py).
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class LocatedYaml:
    """A parsed YAML document and the 1-based line of every value in it."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """The line of ``path``, or of its nearest ancestor that exists (a missing key's parent)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1


class YamlSyntaxError(ValueError):
    """The file is not YAML; carries the line the parser stopped at."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load_located_yaml(path: Path) -> LocatedYaml:
    """Parse ``path`` with YAML's safe schema, recording lines; raise YamlSyntaxError if unparsable."""
    text = path.read_text(encoding="utf-8")
    try:
        try:
            node = yaml.compose(text, Loader=_COMPOSER)
        except yaml.MarkedYAMLError:
            # Broken files are rare: the pure-Python parser words the problem better.
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlSyntaxError(f"not valid YAML: {exc.problem or exc}", line) from exc
    if node is None:
        return LocatedYaml(data=None, lines={(): 1})
    lines: dict[Path_, int] = {}
    constructor = yaml.SafeLoader(text)
    try:
        data = _build(node, (), lines, constructor)
    finally:
        constructor.dispose()
    return LocatedYaml(data=data, lines=lines)


def _build(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], constructor: yaml.SafeLoader
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            child = (*path, str(key))
            result[key] = _build(value_node, child, lines, constructor)
            # A key's own line is more useful than its value's (a block value starts below the key).
            lines[child] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, index), lines, constructor)
            for index, item in enumerate(node.value)
        ]
    try:
        return constructor.construct_object(node, deep=True)
    except ValueError as exc:  # a scalar that looks like a date but is none (2027-13-01)
        line = node.start_mark.line + 1
        raise YamlSyntaxError(f"{node.value!r} is not a valid value: {exc}", line) from exc
