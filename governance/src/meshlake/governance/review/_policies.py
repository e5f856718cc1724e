"""The policies a review judges with: the base branch's, never the pull request's own.

A pull request must not loosen the rules it is judged by. The review reads the policy folder
(``MESHLAKE_POLICIES_DIR``, default the shipped ``governance/policies/``) as it is at the base
commit, with git, and evaluates with that. The pull request's own policy changes take effect after
merge; the review lists them for a reviewer from the governance team, and fails only when the new
policies would not load at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from meshlake.governance.policies import (
    SHIPPED_POLICIES,
    PolicyEngine,
    PolicyLoadError,
    PolicySettings,
    default_engine,
)
from meshlake.governance.review._git import export_folder, toplevel

_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)", re.MULTILINE)
CONFIG = "data/config.json"

# Said in the report, and in the README: a policy change is called out, it does not fail the review.
APPROVAL = "a reviewer from the governance team must approve them"
NOT_BLOCKING = (
    "A policy change alone does not make the review fail (exit code); it is called out here."
)


@dataclass(frozen=True)
class PolicyFileChange:
    """One file of the policy folder added, removed or changed between the base and the work tree."""

    path: str  # relative to the policy folder, "/"-separated
    status: Literal["added", "removed", "changed"]
    what: str  # "publication.sla_declared" for a policy module; what the file is otherwise
    detail: str = ""  # for data/config.json: which keys

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "status": self.status, "what": self.what, "detail": self.detail}


@dataclass(frozen=True)
class PolicyBasis:
    """Which policies judged the pull request, and why those."""

    source: Literal["base", "shipped", "outside", "caller"]
    folder: str  # relative to the repository's top when inside it, else absolute
    commit: str = ""  # the base commit the policies were read at (source "base")
    note: str = ""  # one sentence for the report

    @property
    def judged_by(self) -> str:
        if self.source == "base":
            return f"the policies of the base ({self.commit[:12]})"
        if self.source == "shipped":
            return "the policies shipped with meshlake"
        if self.source == "caller":
            return "the policy engine the caller gave"
        return f"the policies in {self.folder}"

    def as_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "folder": self.folder,
            "commit": self.commit,
            "note": self.note,
        }


@dataclass
class ReviewPolicies:
    """The engine to judge with (None: none could be loaded), where it came from, what changed."""

    engine: PolicyEngine | None
    basis: PolicyBasis
    changes: list[PolicyFileChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # violations: a policy folder does not load


def review_policies(
    root: Path,
    base_ref: str,
    commit: str,
    work: Path,
    *,
    folder: Path | None = None,
    engine: PolicyEngine | None = None,
) -> ReviewPolicies:
    """The policies to judge the work tree under ``root`` with: ``folder`` (default
    MESHLAKE_POLICIES_DIR or the shipped policies) as it is at ``commit``, exported under ``work``.

    A folder outside the repository is used as it is (a pull request cannot change it). A folder
    the base does not have yet falls back to the shipped policies. A base folder that does not load
    judges nothing and is a problem (fail closed), as is a changed folder that no longer loads.
    ``engine``, when given, judges instead (the caller's choice); changes are still listed.
    """
    configured = folder is None
    folder = (folder or PolicySettings().resolved_dir()).resolve()
    top = toplevel(root)
    if not folder.is_relative_to(top):
        basis = PolicyBasis(
            "caller" if engine is not None else "outside",
            str(folder),
            note=f"Judged with the policies in `{folder}`, outside this repository: a pull "
            "request cannot change them.",
        )
        result = ReviewPolicies(engine, basis)
        if engine is None:
            result.engine = _load(
                lambda: default_engine() if configured else PolicyEngine(folder),
                f"the policies in {folder} do not load",
                result.problems,
            )
        return result

    path = folder.relative_to(top).as_posix()
    base_folder = export_folder(top, commit, path, work / "base-policies")
    changes = compare_folders(base_folder, folder)
    if engine is not None:
        basis = PolicyBasis(
            "caller", path, note="Judged with the policy engine the caller gave, not the base's."
        )
        result = ReviewPolicies(engine, basis, changes)
    elif base_folder is None:
        own = SHIPPED_POLICIES.resolve().is_relative_to(top)
        basis = PolicyBasis(
            "shipped",
            path,
            note=f"`{path}/` does not exist at `{base_ref}`: this pull request introduces the "
            "policy folder, so it is judged with the policies shipped with meshlake"
            + (" (here the shipped folder is this repository's own)." if own else "."),
        )
        result = ReviewPolicies(None, basis, changes)
        result.engine = _load(
            lambda: PolicyEngine(SHIPPED_POLICIES),
            "the policies shipped with meshlake do not load",
            result.problems,
        )
    else:
        basis = PolicyBasis(
            "base",
            path,
            commit,
            note=f"Judged with the policies of `{base_ref}` (`{path}/` at {commit[:12]}), not "
            "with the pull request's own.",
        )
        result = ReviewPolicies(None, basis, changes)
        loaded = base_folder
        result.engine = _load(
            lambda: PolicyEngine(loaded),
            f"the policies of {base_ref} ({path}/) do not load, so nothing was judged by them; "
            "fix them on the base branch first",
            result.problems,
        )
    if changes and folder.is_dir():
        _load(
            lambda: PolicyEngine(folder),
            f"the policies of this pull request ({path}/) do not load; after merge the "
            "governance service could not decide",
            result.problems,
        )
    return result


def _load(make: Callable[[], PolicyEngine], what: str, problems: list[str]) -> PolicyEngine | None:
    try:
        return make()
    except PolicyLoadError as exc:
        problems.append(f"{what}: {exc}")
        return None


def compare_folders(base: Path | None, head: Path) -> list[PolicyFileChange]:
    """Files added, removed or changed from policy folder ``base`` (None: none) to ``head``."""
    before, after = _files(base), _files(head)
    changes = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        status: Literal["added", "removed", "changed"] = (
            "added" if old is None else "removed" if new is None else "changed"
        )
        changes.append(
            PolicyFileChange(path, status, _what(path, new or old or b""), _detail(path, old, new))
        )
    return changes


def _files(folder: Path | None) -> dict[str, bytes]:
    if folder is None or not folder.is_dir():
        return {}
    return {
        file.relative_to(folder).as_posix(): file.read_bytes()
        for file in folder.rglob("*")
        if file.is_file()
        and not any(
            part.startswith(".") or part == "__pycache__" for part in file.relative_to(folder).parts
        )
    }


def _what(path: str, content: bytes) -> str:
    if path.endswith(".rego"):
        found = _PACKAGE.search(content.decode("utf-8", errors="replace"))
        package = found.group(1).removeprefix("meshlake.") if found else "no package"
        return f"{package} (Rego tests)" if path.endswith("_test.rego") else package
    if path == CONFIG:
        return "policy configuration"
    if path.startswith("schemas/") and path.endswith(".schema.json"):
        return f"input schema of the {path.removeprefix('schemas/').split('.')[0]} decision"
    if path.endswith(".md"):
        return "documentation"
    return ""


def _detail(path: str, old: bytes | None, new: bytes | None) -> str:
    if path != CONFIG or old is None or new is None:
        return ""
    try:
        before, after = json.loads(old), json.loads(new)
    except json.JSONDecodeError:
        return "not valid JSON"
    if not isinstance(before, dict) or not isinstance(after, dict):
        return "not a JSON object"
    parts = []
    for label, keys in (
        ("keys added", [key for key in after if key not in before]),
        ("keys removed", [key for key in before if key not in after]),
        ("keys changed", [key for key in after if key in before and before[key] != after[key]]),
    ):
        if keys:
            parts.append(f"{label}: {', '.join(sorted(keys))}")
    return "; ".join(parts) or "formatting only"
