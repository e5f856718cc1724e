"""Spec problems: what is wrong, in which file, on which line, at which field."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from meshlake.platform._errors import MeshlakeError
from meshlake.platform.specs._yaml import LocatedYaml, Path_


@dataclass(frozen=True, order=True)
class Problem:
    """One thing to fix, printed the way editors and CI annotations understand: ``file:line: ...``."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class SpecError(MeshlakeError):
    """The specs have problems; every one of them is listed, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        listed = "\n".join(str(problem) for problem in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the specs:\n{listed}")


def field_path(path: Path_) -> str:
    """``("schema", 0, "properties", 3, "name")`` -> ``schema[0].properties[3].name``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_HUMAN_PATTERNS = {
    r"^[a-z][a-z0-9_]*$": "must be lower_snake_case (a letter, then letters, digits or _)",
    r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$": "must be a semantic version such as 1.0.0",
}


def problems_from_validation(
    exc: ValidationError, document: LocatedYaml, file: str, model: type[BaseModel]
) -> list[Problem]:
    """Turn pydantic's errors into Problems located in the YAML the user wrote."""
    problems: dict[tuple[str, str], Problem] = {}
    for error in exc.errors():
        path = _data_path(error["loc"], document.data, error["type"])
        message = _message(error, model)
        key = (field_path(path), message)
        if key not in problems:
            problems[key] = Problem(file, document.line_of(path), field_path(path), message)
    return list(problems.values())


def _data_path(loc: tuple[Any, ...], data: Any, kind: str) -> Path_:
    """The part of pydantic's location that exists in the document (drops union-member tags)."""
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
            path.append(part)
        elif kind == "missing" and index == len(loc) - 1:
            path.append(part)
        else:
            break
    return tuple(path)


def _message(error: Any, model: type[BaseModel]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "literal_error":
        choices = str(ctx.get("expected", "")).replace(" or ", ", ").replace("'", "")
        return f"{value!r} is not one of {choices}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        suggestion = difflib.get_close_matches(name, sorted(_known_fields(model)), n=1)
        hint = (
            f"did you mean {suggestion[0]!r}?"
            if suggestion
            else "meshlake settings go under customProperties"
        )
        return f"unknown field {name!r}; {hint}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return f"{value!r} {_HUMAN_PATTERNS.get(pattern, f'does not match {pattern}')}"
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must list at least one item"
    return f"{error['msg']} (got {value!r})" if not isinstance(value, dict | list) else error["msg"]


def _known_fields(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    """Every field name (by alias) reachable from ``model``, for did-you-mean hints."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        for candidate in _models_in(info.annotation):
            names |= _known_fields(candidate, seen)
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _models_in(arg)
    return found
