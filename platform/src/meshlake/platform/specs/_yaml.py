"""YAML loading that remembers where each value came from.

Spec errors must name the line a user has to edit, so every mapping key and sequence item keeps the
line it was written on, keyed by its path (``("schema", 0, "properties", 3, "logicalType")``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshlake.platform.specs._forked import forked_map, forks

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
    """The file is not YAML (or not text, or too deep or too large); carries the line to look at."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


# Bounds for hostile files. A spec is a few hundred values deep-and-wide at most; these are far
# beyond any real spec and far below what makes the parser (or Python's recursion) struggle.
MAX_DEPTH = 64
MAX_VALUES = 200_000


MAX_BYTES = 10_000_000


def read_spec_text(path: Path) -> str:
    """The text of a spec file; YamlSyntaxError if it is binary or not UTF-8 (with the line).

    At most MAX_BYTES are read: a spec linked to /dev/zero or a runaway generated file is refused
    instead of filling memory."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as exc:  # a folder named like a spec, no permission, a broken link
        raise YamlSyntaxError(f"cannot be read: {exc.strerror or exc}", 1) from None
    if len(data) > MAX_BYTES:
        raise YamlSyntaxError(
            f"larger than {MAX_BYTES // 1_000_000} MB; a spec file is never this large",
            _line_at(data, MAX_BYTES),
        )
    nul = data.find(b"\0")
    if nul >= 0:
        raise YamlSyntaxError(
            "not a text file (a NUL byte); a spec file is UTF-8 YAML text", _line_at(data, nul)
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            _line_at(data, exc.start),
        ) from None


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def load_located_yaml(path: Path) -> LocatedYaml:
    """Parse ``path`` with YAML's safe schema, recording lines; raise YamlSyntaxError if unparsable."""
    return load_located_text(read_spec_text(path))


# Documents parsed before, by exact text: the same contract is read for validation, for each port's
# quality rules (the Dagster definitions declare a check per rule) and for a review's two trees.
# A LocatedYaml is shared between callers, who read it and never change it.
_LOCATED: OrderedDict[str, LocatedYaml] = OrderedDict()
_LOCATED_MAX = 20_000
PREPARSE_FROM = 400
"""Spec files from which ``preparse`` forks workers to parse them."""


def load_located_text(text: str) -> LocatedYaml:
    """Parse YAML ``text`` (see load_located_yaml); the result is shared, never to be changed."""
    cached = _LOCATED.get(text)
    if cached is not None:
        _LOCATED.move_to_end(text)
        return cached
    located = _parse_located(text)
    _LOCATED[text] = located
    if len(_LOCATED) > _LOCATED_MAX:
        _LOCATED.popitem(last=False)
    return located


def preparse(files: Sequence[Path]) -> None:
    """Parse ``files`` ahead, in forked workers, into the cache ``load_located_text`` reads: a
    large mesh's 3,000 files take seconds to parse in one process. Only worth it when the work
    can be forked; a file that does not read or parse is left for the caller, who reports it."""
    if not forks(len(files), PREPARSE_FROM):
        return
    for found in forked_map(_parsed_or_none, files, parallel_from=PREPARSE_FROM):
        if found is not None and found[0] not in _LOCATED:
            _LOCATED[found[0]] = found[1]
    while len(_LOCATED) > _LOCATED_MAX:
        _LOCATED.popitem(last=False)


def _parsed_or_none(file: Path) -> tuple[str, LocatedYaml] | None:
    try:
        text = read_spec_text(file)
        return text, _parse_located(text)
    except YamlSyntaxError:
        return None


def _parse_located(text: str) -> LocatedYaml:
    try:
        try:
            _check_shape(text, _COMPOSER)
            node = yaml.compose(text, Loader=_COMPOSER)
        except yaml.MarkedYAMLError:
            # Broken files are rare: the pure-Python parser words the problem better.
            _check_shape(text, yaml.SafeLoader)
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlSyntaxError(f"not valid YAML: {exc.problem or exc}", line) from None
    except yaml.reader.ReaderError as exc:  # a control character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1
        raise YamlSyntaxError(
            f"not valid YAML: character #x{exc.character:04x} is not allowed ({exc.reason})", line
        ) from None
    if node is None:
        return LocatedYaml(data=None, lines={(): 1})
    lines: dict[Path_, int] = {}
    constructor = yaml.SafeLoader(text)
    try:
        data = _build(node, (), lines, constructor)
    finally:
        constructor.dispose()
    return LocatedYaml(data=data, lines=lines)


def _check_shape(text: str, loader: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH and alias expansion beyond MAX_VALUES.

    Runs over the event stream (no tree is built), so a billion-laughs file or ten thousand nested
    brackets is refused in milliseconds, before the recursive composer and builder ever see it.
    """
    depth = 0
    # Values under each open collection, and the expanded size of each anchor once closed.
    counts: list[int] = [0]
    anchors: list[str | None] = []
    sizes: dict[str, int] = {}
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlSyntaxError(
                    f"nested deeper than {MAX_DEPTH} levels; a spec file is never this deep", line
                )
            counts.append(1)
            anchors.append(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            size = counts.pop()
            anchor = anchors.pop()
            if anchor is not None:
                sizes[anchor] = size
            counts[-1] += size
        elif isinstance(event, yaml.ScalarEvent):
            counts[-1] += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            counts[-1] += sizes.get(event.anchor or "", 1)
        else:
            continue
        if sum(counts) > MAX_VALUES:
            raise YamlSyntaxError(
                f"expands to more than {MAX_VALUES} values (aliases repeating aliases?); "
                "write the values out or split the file",
                line,
            )


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _build(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], constructor: yaml.SafeLoader
) -> Any:
    lines[path] = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
        raise YamlSyntaxError(
            f"tag {node.tag!r} is not allowed in a spec file; remove it",
            node.start_mark.line + 1,
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlSyntaxError(
                    "a mapping key must be a plain value, not a list or mapping",
                    key_node.start_mark.line + 1,
                )
            key = _scalar(key_node, constructor)
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
    return _scalar(node, constructor)


def _scalar(node: yaml.Node, constructor: yaml.SafeLoader) -> Any:
    line = node.start_mark.line + 1
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:  # an unknown tag such as !!python/object
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlSyntaxError(f"not valid YAML: {problem}", line) from None
    except ValueError as exc:  # a scalar that looks like a date but is none (2027-13-01)
        raise YamlSyntaxError(f"{node.value!r} is not a valid value: {exc}", line) from None
