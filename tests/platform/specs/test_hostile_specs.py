"""Hostile spec files are refused quickly, with file and line, and never with a traceback.

Each case replaces the mini mesh's contract with bytes a careless tool or an attacker could leave
there: binary data, text that is not YAML, nesting or alias expansion meant to exhaust the parser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meshlake.platform import validate_mesh
from tests.helpers import MINI_MESH

pytestmark = pytest.mark.unit

CONTRACT = "domains/alpha/products/things/contract.yaml"


def _laughs(levels: int) -> bytes:
    """The billion-laughs shape: each anchor a list of nine aliases to the one before."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    return ("\n".join(lines) + "\n").encode()


# name -> (file bytes, expected line, words the problem must contain)
CASES: dict[str, tuple[bytes, int, str]] = {
    "nul_byte": (b"apiVersion: v3.1.0\nkind: Data\x00Contract\n", 2, "not a text file"),
    "png_image": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3, "not a text file"),
    "latin1_text": (b"apiVersion: v3.1.0\nname: caf\xe9\n", 2, "not UTF-8 text"),
    "not_yaml": (b"apiVersion: [v3.1.0\nkind: DataContract\n", 2, "not valid YAML"),
    "control_character": (b"apiVersion: v3.1.0\nkind: a\x07b\n", 2, "not valid YAML"),
    "deep_flow_nesting": (b"a: " + b"[" * 100_000 + b"]" * 100_000 + b"\n", 1, "nested deeper"),
    "deep_block_nesting": (
        "".join("  " * depth + f"k{depth}:\n" for depth in range(1000)).encode(),
        65,
        "nested deeper",
    ),
    "billion_laughs": (_laughs(10), 6, "expands to more than"),
    "python_tag": (
        b"apiVersion: v3.1.0\nx: !!python/object/apply:os.system ['true']\n",
        2,
        "is not allowed in a spec file",
    ),
    "collection_key": (b"apiVersion: v3.1.0\n? [a, b]\n: c\n", 2, "mapping key must be"),
}


def _mesh_with_contract(tmp_path: Path, data: bytes) -> Path:
    project = tmp_path / "mesh"
    shutil.copytree(MINI_MESH, project)
    (project / CONTRACT).write_bytes(data)
    return project


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_file_is_refused_quickly_with_its_line(case: str, tmp_path: Path) -> None:
    data, line, words = CASES[case]
    project = _mesh_with_contract(tmp_path, data)

    started = time.perf_counter()
    report = validate_mesh(project)
    elapsed = time.perf_counter() - started

    assert elapsed < 5
    assert report.mesh is None
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert (problem.file, problem.line) == (CONTRACT, line)
    assert words in problem.message


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("zero_device", "larger than 10 MB"),
        ("folder", "cannot be read"),
        ("huge", "larger than 10 MB"),
    ],
)
def test_a_spec_that_is_no_ordinary_file_is_refused(kind: str, words: str, tmp_path: Path) -> None:
    project = _mesh_with_contract(tmp_path, b"")
    contract = project / CONTRACT
    contract.unlink()
    if kind == "zero_device":
        # Globbed like the real domain.yaml; read whole, it would never end.
        contract.write_bytes((MINI_MESH / CONTRACT).read_bytes())
        (project / "domains/alpha/domain.yaml").unlink()
        (project / "domains/alpha/domain.yaml").symlink_to("/dev/zero")
    elif kind == "folder":
        # A folder named domain.yaml is found by the loader's glob like the real one.
        shutil.move(project / "domains/alpha/domain.yaml", tmp_path / "domain.yaml")
        (project / "domains/alpha/domain.yaml").mkdir()
        contract.write_bytes((MINI_MESH / CONTRACT).read_bytes())
    else:
        contract.write_bytes(b"# " + b"x" * 10_000_001 + b"\n")

    started = time.perf_counter()
    report = validate_mesh(project)

    assert time.perf_counter() - started < 5
    assert report.mesh is None
    assert any(words in problem.message for problem in report.problems), report.problems


def test_a_large_but_honest_alias_use_still_loads(tmp_path: Path) -> None:
    # Aliases are YAML; only their runaway expansion is refused.
    project = tmp_path / "mesh"
    shutil.copytree(MINI_MESH, project)
    contract = project / CONTRACT
    text = contract.read_text()
    contract.write_text(
        text.replace("status: active", "status: &state active", 1) + "tags: [*state]\n"
    )

    report = validate_mesh(project)

    assert report.problems == []
    assert report.mesh is not None
    assert report.mesh.product("alpha.things").ports["things"].contract.tags == ["active"]


@pytest.mark.parametrize("case", ["png_image", "deep_flow_nesting", "billion_laughs"])
def test_meshlake_validate_prints_file_line_and_no_traceback(case: str, tmp_path: Path) -> None:
    data, line, words = CASES[case]
    project = _mesh_with_contract(tmp_path, data)
    executable = Path(sys.executable).with_name("meshlake")
    env = {**os.environ, "MESHLAKE_PROJECT": str(project), "COLUMNS": "300"}

    result = subprocess.run(
        [str(executable), "validate"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith(f"{CONTRACT}:{line}: ")
    assert words in result.stdout
    assert "1 problem(s)" in result.stderr
