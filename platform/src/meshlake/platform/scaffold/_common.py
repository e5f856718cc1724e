"""What the scaffolders share: the error they raise, what they report, and how they write files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshlake.platform._errors import MeshlakeError

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
ZONES_DIR = Path("infra") / "landing-zones"
DOMAINS_DIR = Path("domains")


class ScaffoldError(MeshlakeError):
    """A scaffold request that cannot be carried out; nothing has been written."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(f"{option}: {message}")


@dataclass
class Scaffolded:
    """What a scaffold command did, for the CLI to print: files written, notes, the next command."""

    written: list[Path] = field(default_factory=list)
    edited: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)


def check_name(option: str, value: str, what: str) -> None:
    if not NAME.match(value):
        raise ScaffoldError(
            option,
            f"{value!r} is not a valid {what} name: use lower_snake_case, starting with a letter "
            "(e.g. field_service)",
        )


def check_email(option: str, value: str) -> None:
    if not EMAIL.match(value):
        raise ScaffoldError(
            option, f"{value!r} is not an e-mail address: give the owner's, e.g. ana@example.com"
        )


def dump_yaml(data: dict[str, Any], header: str) -> str:
    """A new spec file: a comment saying where it came from, then the fields in the given order."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return comment + body


def write_new(file: Path, text: str) -> None:
    """Write a file that must not exist yet (a scaffold never overwrites a team's work)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("x", encoding="utf-8") as handle:
        handle.write(text)
