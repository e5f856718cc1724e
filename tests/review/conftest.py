"""A git repository holding a copy of the sample mesh, and helpers to edit its contracts."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO

Contract = dict[str, Any]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=review",
            "-c",
            "user.email=review@example.com",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def mesh_repo(tmp_path: Path) -> Path:
    """domains/ and infra/ of the sample mesh, committed once (the base)."""
    repo = tmp_path / "mesh"
    repo.mkdir()
    for folder in ("domains", "infra"):
        shutil.copytree(REPO / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the sample mesh")
    return repo


def edit_yaml(repo: Path, relative: str, change: Callable[[Contract], None]) -> None:
    file = repo / relative
    document = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(document)
    file.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def column(contract: Contract, name: str) -> dict[str, Any]:
    return next(prop for prop in contract["schema"][0]["properties"] if prop["name"] == name)


def drop_column(contract: Contract, name: str) -> None:
    properties = contract["schema"][0]["properties"]
    properties[:] = [prop for prop in properties if prop["name"] != name]


EMPLOYEES = "domains/hr/products/employees/contract.yaml"
EMPLOYEES_PRODUCT = "domains/hr/products/employees/product.yaml"
# The agreement under which sales reads hr.employees: a pull request that drops a column it
# delivers must take the column out of it too, or the head specs do not validate.
SALES_READS_EMPLOYEES = "domains/sales/agreements/account-managers-read-employees.yaml"


def stop_sharing(agreement: Contract, column: str) -> None:
    """Take ``column`` out of every port of an agreement (its columns and masked)."""
    for port in agreement["ports"]:
        for key in ("columns", "masked"):
            if key in port:
                port[key] = [name for name in port[key] if name != column]


POLICIES = "governance/policies"


@pytest.fixture
def policy_repo(mesh_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample mesh with the shipped policies committed in the repository (the base), and
    MESHLAKE_POLICIES_DIR pointing at them, as in a project that keeps its own policies."""
    from meshlake.governance.policies import SHIPPED_POLICIES

    shutil.copytree(SHIPPED_POLICIES, mesh_repo / POLICIES)
    git(mesh_repo, "add", "-A")
    git(mesh_repo, "commit", "-q", "-m", "the organisation's policies")
    monkeypatch.setenv("MESHLAKE_POLICIES_DIR", str(mesh_repo / POLICIES))
    return mesh_repo


def replace_in(repo: Path, relative: str, old: str, new: str) -> None:
    """Replace ``old`` (which must be there: the test edits a known rule) in a file of ``repo``."""
    file = repo / relative
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{relative} no longer holds {old!r}; update the test"
    file.write_text(text.replace(old, new), encoding="utf-8")
