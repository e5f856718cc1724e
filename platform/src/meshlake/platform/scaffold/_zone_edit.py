"""Add a domain to a landing zone file by editing one line, so the file's comments and order stay.

A zone lists its domains either inline (``domains: [hr, sales]``) or as a block (``- hr`` items);
both are edited in place. A zone without the key gets ``domains: [NAME]`` appended.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^domains:(?P<rest>.*)$")
_INLINE = re.compile(r"^\s*\[(?P<items>[^\]]*)\](?P<tail>\s*(#.*)?)$")
_ITEM = re.compile(r"^(?P<indent>\s*)-\s+")


def add_domain(text: str, domain: str) -> str:
    """``text`` (a zone YAML file) with ``domain`` added to its top-level ``domains`` list."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        match = _KEY.match(line.rstrip("\r\n"))
        if match is None:
            continue
        rest = match.group("rest")
        inline = _INLINE.match(rest)
        if inline is not None:
            items = [item.strip() for item in inline.group("items").split(",") if item.strip()]
            ending = line[len(line.rstrip("\r\n")) :] or "\n"
            tail = inline.group("tail").rstrip()
            lines[index] = f"domains: [{', '.join([*items, domain])}]{tail}{ending}"
            return "".join(lines)
        if rest.split("#", 1)[0].strip():
            raise ValueError(
                f"line {index + 1}: domains is neither a [list] nor a block of - items"
            )
        return _add_to_block(lines, index, domain)
    ending = "" if not text or text.endswith("\n") else "\n"
    return f"{text}{ending}domains: [{domain}]\n"


def _add_to_block(lines: list[str], key_index: int, domain: str) -> str:
    last = key_index
    indent = "  "
    for index in range(key_index + 1, len(lines)):
        stripped = lines[index].strip()
        item = _ITEM.match(lines[index])
        if item is not None:
            last, indent = index, item.group("indent")
        elif stripped and not stripped.startswith("#"):
            break
    newline = "\n" if lines[last].endswith("\n") else ""
    if not newline:
        lines[last] += "\n"
    lines.insert(last + 1, f"{indent}- {domain}\n")
    return "".join(lines)
