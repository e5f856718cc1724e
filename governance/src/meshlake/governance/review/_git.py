"""The specs at a git ref, written out to a temporary folder (``git archive``; the work tree is untouched)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from meshlake.governance.review._errors import ReviewUsageError

SPEC_FOLDERS = ("domains", "infra")


def _git(root: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise ReviewUsageError("git is not installed; meshlake review needs it") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise ReviewUsageError(message[-1] if message else f"git {' '.join(args)} failed")
    return done.stdout


def resolve_ref(root: Path, ref: str) -> str:
    """The commit ``ref`` names; ReviewUsageError when ``root`` is no git work tree or ``ref`` is unknown."""
    try:
        _git(root, "rev-parse", "--is-inside-work-tree")
    except ReviewUsageError:
        raise ReviewUsageError(f"{root} is not inside a git repository") from None
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except ReviewUsageError:
        raise ReviewUsageError(f"unknown git ref {ref!r} in {root}") from None


def export_specs(root: Path, commit: str, target: Path) -> Path:
    """Write domains/ and infra/ as they are at ``commit`` under ``target``; return the project folder.

    ``root`` may be a sub-folder of the repository: the same sub-folder is exported.
    """
    prefix = _git(root, "rev-parse", "--show-prefix").decode().strip()
    present = {
        line.split("\t", 1)[1].removeprefix(prefix)
        for line in _git(root, "ls-tree", commit, "--", prefix or ".").decode().splitlines()
        if "\t" in line
    }
    folders = [f"{prefix}{name}" for name in SPEC_FOLDERS if name in present]
    project = target / prefix if prefix else target
    project.mkdir(parents=True, exist_ok=True)
    if folders:
        _extract(root, commit, folders, target)
    return project


def toplevel(root: Path) -> Path:
    """The top folder of the git work tree holding ``root``."""
    return Path(_git(root, "rev-parse", "--show-toplevel").decode().strip()).resolve()


def export_folder(top: Path, commit: str, path: str, target: Path) -> Path | None:
    """Write folder ``path`` (relative to the work tree's top ``top``) as it is at ``commit`` under
    ``target``; return where it landed, or None when ``commit`` has no folder there."""
    fields = _git(top, "ls-tree", commit, "--", path).decode().split()  # mode, type, object, path
    if len(fields) < 2 or fields[1] != "tree":
        return None
    _extract(top, commit, [path], target)
    return target / path


def _extract(root: Path, commit: str, paths: list[str], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    archive = _git(root, "archive", "--format=tar", commit, "--", *paths)
    tar_command = shutil.which("tar")
    if tar_command is not None:
        # The system tar unpacks a large mesh several times faster than the tarfile module.
        subprocess.run([tar_command, "-x", "-C", str(target)], input=archive, check=True)
    else:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
