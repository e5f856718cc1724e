"""A policy bundle: the Rego modules of one decision, its data and its input schema, in one interpreter.

Layout of a policy folder (governance/policies/): ``<decision>/*.rego`` (package
``meshlake.<decision>.<policy>``), ``lib/*.rego`` shared helpers, ``data/config.json`` (loaded at
``data.meshlake.config``), ``schemas/<decision>.schema.json``. ``*_test.rego`` files load only into
test bundles.

regopy 1.5 crashes the process on ``with input as {...}`` when the rule it overrides calls a
built-in; per-field ``with input.<field> as <local variable>`` works, so the loader refuses the
former with its file and line rather than let a test take the process down.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshlake.governance.policies._native import load_cpp_runtime

load_cpp_runtime()  # before regopy is loaded (see _native)

from regopy import Bundle, Interpreter, RegoError  # noqa: E402

from meshlake.governance.policies._errors import (  # noqa: E402
    PolicyEvaluationError,
    PolicyLoadError,
)

DECISIONS = ("publication", "review", "access", "sharing")

_ERROR = re.compile(r"\(error \d+:([^|()\s]+)\|(\d+)\|\d+")
_MESSAGE = re.compile(r"\(errormsg \d+:([^)]*)\)")
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)", re.MULTILINE)
_WHOLE_INPUT_WITH = re.compile(r"\bwith\s+input\s+as\b")


@dataclass(frozen=True)
class RegoModule:
    """One ``.rego`` file: its name relative to the bundle root, its text and its package."""

    name: str
    file: Path
    text: str
    package: str

    @property
    def is_test(self) -> bool:
        return self.file.name.endswith("_test.rego")


@dataclass
class PolicyBundle:
    """One decision's modules in one reused interpreter; queries are serialised by a lock."""

    decision: str
    root: Path
    modules: list[RegoModule]
    schema: dict[str, Any]
    data: dict[str, Any]
    interpreter: Interpreter
    # The decision's query compiled once: about 2.5 times faster per decision than query().
    compiled: Bundle | None = None
    version: str = ""
    """A digest of the modules, data and schema: which rules a logged decision was taken by."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def policies(self) -> list[str]:
        """The policy names of this decision (the last package segment of each non-test module)."""
        prefix = f"meshlake.{self.decision}."
        return sorted(
            module.package.removeprefix(prefix)
            for module in self.modules
            if module.package.startswith(prefix) and not module.is_test
        )

    def decide(self, document: Any) -> Any:
        """The value of ``data.meshlake.<decision>`` for input ``document`` (None when undefined)."""
        if self.compiled is None:
            return self.query(f"data.meshlake.{self.decision}", document)
        with self._lock:
            self.interpreter.set_input(document)
            output = self.interpreter.query_bundle(self.compiled)
            if not output.ok():
                raise PolicyEvaluationError(
                    f"evaluating the {self.decision} policies failed; "
                    "run the Rego tests (pytest tests/governance/policies) to find the rule"
                )
            text = str(output)
        if text.strip() == "undefined":
            return None
        return json.loads(text).get("bindings", {}).get("result")

    def query(self, query: str, document: Any) -> Any:
        """The value of ``query`` for input ``document`` (None when undefined)."""
        with self._lock:
            self.interpreter.set_input(document)
            output = self.interpreter.query(query)
            # A failed Output must not be printed: regopy 1.5 crashes rendering some errors.
            if not output.ok():
                raise PolicyEvaluationError(
                    f"evaluating {query} in the {self.decision} policies failed; "
                    "run the Rego tests (pytest tests/governance/policies) to find the rule"
                )
            text = str(output)
        if text.strip() == "undefined":
            return None
        return json.loads(text)["expressions"][0]


def load_bundle(root: Path, decision: str, *, include_tests: bool = False) -> PolicyBundle:
    """Load ``decision``'s bundle from ``root``; PolicyLoadError names the file and line of a fault."""
    if decision not in DECISIONS:
        raise PolicyLoadError(root, 0, 0, f"unknown decision {decision!r}; one of {DECISIONS}")
    folders = [root / "lib", root / decision]
    files = sorted(file for folder in folders if folder.is_dir() for file in folder.glob("*.rego"))
    modules = [_read_module(root, file) for file in files]
    if not include_tests:
        modules = [module for module in modules if not module.is_test]
    data = _read_json(root / "data" / "config.json")
    schema = _read_json(root / "schemas" / f"{decision}.schema.json")
    interpreter = Interpreter()
    interpreter.add_data({"meshlake": {"config": data}})
    for module in modules:
        _check_package(module, decision)
        try:
            interpreter.add_module(module.name, module.text)
        except RegoError as exc:
            raise _load_error(module, str(exc)) from None
    compiled = None
    if not include_tests:
        try:
            compiled = interpreter.build(f"result = data.meshlake.{decision}")
        except RegoError as exc:
            raise PolicyLoadError(f"{decision}/", 0, 0, str(exc).strip()) from None
    version = _version(modules, data, schema)
    return PolicyBundle(decision, root, modules, schema, data, interpreter, compiled, version)


def _version(modules: list[RegoModule], data: dict[str, Any], schema: dict[str, Any]) -> str:
    """``sha256:`` and 16 hex digits over what the decision evaluates (test modules left out)."""
    content = json.dumps(
        {
            "modules": sorted((m.name, m.text) for m in modules if not m.is_test),
            "data": data,
            "schema": schema,
        },
        sort_keys=True,
    )
    return "sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]


def _read_module(root: Path, file: Path) -> RegoModule:
    text = file.read_text(encoding="utf-8")
    name = file.relative_to(root).as_posix()
    found = _PACKAGE.search(text)
    if found is None:
        raise PolicyLoadError(
            name, 1, 1, "no package declaration (package meshlake.<decision>.<policy>)"
        )
    module = RegoModule(name, file, text, found.group(1))
    if module.is_test:
        whole = _WHOLE_INPUT_WITH.search(text)
        if whole is not None:
            line, column = _position(text, whole.start())
            raise PolicyLoadError(
                name,
                line,
                column,
                "'with input as' replaces the whole input, which crashes regopy 1.5; bind the "
                "fixture to a local variable and override fields: with input.product as p",
            )
    return module


def _check_package(module: RegoModule, decision: str) -> None:
    expected = "meshlake.lib" if module.name.startswith("lib/") else f"meshlake.{decision}."
    if not (module.package == expected or module.package.startswith(expected)):
        line, column = _position(module.text, _PACKAGE.search(module.text).start(1))  # type: ignore[union-attr]
        raise PolicyLoadError(
            module.name,
            line,
            column,
            f"package {module.package} must be {expected}"
            + ("" if expected.endswith("lib") else "<policy>")
            + f" in folder {module.name.split('/')[0]}/",
        )


def _load_error(module: RegoModule, error: str) -> PolicyLoadError:
    location = _ERROR.search(error)
    message = _MESSAGE.search(error)
    text = message.group(1).strip() if message else error.strip().splitlines()[0]
    if location is None:
        return PolicyLoadError(module.name, 0, 0, text)
    line, column = _position(module.text, int(location.group(2)))
    return PolicyLoadError(module.name, line, column, text)


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a 0-based character offset."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _read_json(file: Path) -> dict[str, Any]:
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyLoadError(file, 0, 0, "missing file") from None
    except json.JSONDecodeError as exc:
        raise PolicyLoadError(file, exc.lineno, exc.colno, exc.msg) from None
    if not isinstance(value, dict):
        raise PolicyLoadError(file, 1, 1, "must hold a JSON object")
    return value
