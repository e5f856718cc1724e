"""`meshlake validate` reads transform SQL against the input contracts, and the glossary file.

A transform that reads a table no input port is, or a column no input has, is refused with the SQL
file and line before anything runs; so is a glossary term linked to a column no contract has.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meshlake.platform import validate_mesh
from tests.helpers import MINI_MESH, REPO

pytestmark = pytest.mark.unit

TRANSFORM = "domains/alpha/products/things/transform.sql"
GLOSSARY = "infra/landing-zones/governance/glossary.yaml"


def _mesh(tmp_path: Path, sql: str | None = None, glossary: str | None = None) -> Path:
    project = tmp_path / "mesh"
    shutil.copytree(MINI_MESH, project)
    if sql is not None:
        (project / TRANSFORM).write_text(sql)
    if glossary is not None:
        (project / GLOSSARY).parent.mkdir(parents=True, exist_ok=True)
        (project / GLOSSARY).write_text(glossary)
    return project


def _validate(project: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("meshlake")
    env = {**os.environ, "MESHLAKE_PROJECT": str(project), "COLUMNS": "400"}
    return subprocess.run(
        [str(executable), "validate"], capture_output=True, text=True, env=env, check=False
    )


# name -> (transform.sql, expected line, words the problem must contain)
SQL_CASES = {
    "table_not_an_input": (
        "SELECT t.thing_id, t.label, t.weight, t.kind\nFROM things_raw AS t\n"
        "JOIN other_things AS o ON o.thing_id = t.thing_id\n",
        3,
        "reads other_things (line 3), which is not an input port",
    ),
    "file_read": (
        "SELECT thing_id, label, weight, kind\nFROM parquet.`/etc/passwd`\n",
        2,
        "which is not an input port",
    ),
    "column_no_input_has": (
        "SELECT thing_id, label,\n  weight, kind\nFROM things_raw\nWHERE colour = 'red'\n",
        4,
        "column 'colour' (line 4), which cannot be resolved: no input port has such a column",
    ),
    "not_sql": ("SELEC thing_id FROM\n", 1, "does not parse"),
    "qualify_spark_refuses": (
        "SELECT thing_id, label, weight, kind\nFROM things_raw\n"
        "QUALIFY row_number() OVER (PARTITION BY kind ORDER BY weight) = 1\n",
        3,
        "QUALIFY is not Spark SQL (Spark refuses it)",
    ),
}


_SELECT = "SELECT thing_id, label, weight, kind FROM things_raw WHERE "
# Hostile SQL files: refused within seconds with file and line, never a traceback.
SQL_CASES |= {
    "binary": ("SELECT 1\n\x00\x89PNG", 2, "not a text file (a NUL byte); a SQL file is"),
    "deep_parentheses": (
        _SELECT + "\n" + "(" * 500 + "1 = 1" + ")" * 500,
        2,
        "nests parentheses deeper than 100 levels",
    ),
    "too_many_tokens": (
        _SELECT + "\n" + " OR ".join(f"thing_id = 'x{i}'" for i in range(20_000)),
        2,
        "has more than 10000 tokens",
    ),
    "long_or_chain": (
        _SELECT + " OR ".join(f"thing_id = 'x{i}'" for i in range(1_500)),
        1,
        "nests or chains too deeply for meshlake to follow",
    ),
    "too_many_characters": (
        _SELECT + "\n" + "label = '" + "x" * 300_000 + "'",
        2,
        "characters, more than the 262144 meshlake follows",
    ),
    "parentheses_past_the_parser": (
        _SELECT + "(" * 60 + "1 = 1" + ")" * 60,
        1,
        "nests or chains too deeply for meshlake to follow",
    ),
    "cte_chain": (
        "WITH c0 AS (SELECT * FROM things_raw), "
        + ", ".join(f"c{i} AS (SELECT * FROM c{i - 1})" for i in range(1, 400))
        + " SELECT thing_id, label, weight, kind FROM c399",
        1,
        "nests or chains too deeply for meshlake to follow",
    ),
}


@pytest.mark.parametrize("case", sorted(SQL_CASES))
def test_transform_sql_is_checked_against_the_inputs(case: str, tmp_path: Path) -> None:
    sql, line, words = SQL_CASES[case]

    started = time.perf_counter()
    report = validate_mesh(_mesh(tmp_path, sql=sql))

    assert time.perf_counter() - started < 5
    assert not report.ok
    assert report.problems == []  # the mesh's shape is fine: it still loads
    assert report.mesh is not None
    assert [(p.file, p.line) for p in report.check_problems] == [(TRANSFORM, line)]
    assert words in report.check_problems[0].message


def test_a_cte_over_an_input_passes(tmp_path: Path) -> None:
    sql = (
        "WITH heavy AS (SELECT * FROM things_raw WHERE weight > 1)\n"
        "SELECT thing_id, label, weight, kind FROM heavy\n"
    )

    report = validate_mesh(_mesh(tmp_path, sql=sql))

    assert report.check_problems == []
    assert report.ok


def test_the_cli_refuses_a_table_that_is_no_input_with_file_and_line(tmp_path: Path) -> None:
    sql, line, words = SQL_CASES["table_not_an_input"]

    result = _validate(_mesh(tmp_path, sql=sql))

    assert result.returncode == 1
    assert result.stdout.startswith(f"{TRANSFORM}:{line}: ")
    assert words in result.stdout
    assert "Traceback" not in result.stderr
    assert "1 problem(s) in 7 spec files" in result.stderr


def test_every_sample_transform_passes_the_check() -> None:
    report = validate_mesh(REPO)

    assert report.check_problems == []
    assert report.mesh is not None
    sql_ports = [port for port in report.mesh.ports if port.transform_file.suffix == ".sql"]
    assert len(sql_ports) >= 7


GOOD_GLOSSARY = """\
terms:
  - name: Thing
    definition: An item the alpha domain tracks.
    columns:
      - alpha.things.things.thing_id
"""


def test_a_good_glossary_is_counted_and_passes(tmp_path: Path) -> None:
    report = validate_mesh(_mesh(tmp_path, glossary=GOOD_GLOSSARY))

    assert report.ok
    assert report.files_checked == 8  # the mini mesh's 7 spec files and the glossary


@pytest.mark.parametrize(
    ("glossary", "line", "field", "words"),
    [
        (
            GOOD_GLOSSARY + "      - alpha.things.things.colour\n",
            6,
            "terms[0].columns[1]",
            "the contract of alpha.things.things has no column 'colour'",
        ),
        (
            GOOD_GLOSSARY.replace("alpha.things.things.thing_id", "alpha.gizmos.g.id"),
            5,
            "terms[0].columns[0]",
            "no product alpha.gizmos in the mesh",
        ),
        (
            GOOD_GLOSSARY.replace("thing_id", "thing_id.extra"),
            5,
            "terms[0].columns[0]",
            "is not a column reference domain.product.port.column",
        ),
        (
            GOOD_GLOSSARY + "  - name: Thing\n    definition: again\n",
            6,
            "terms[1].name",
            "'Thing' is already defined by terms[0]",
        ),
        (
            GOOD_GLOSSARY.replace("    columns:", "    defintions: again\n    columns:"),
            4,
            "terms[0].defintions",
            "unknown field 'defintions'; did you mean 'definition'?",
        ),
        (b"terms: [\x00]".decode(), 1, "", "not a text file"),
    ],
    ids=["unknown_column", "unknown_product", "not_a_reference", "duplicate", "typo", "binary"],
)
def test_a_bad_glossary_is_refused_with_its_line(
    glossary: str, line: int, field: str, words: str, tmp_path: Path
) -> None:
    report = validate_mesh(_mesh(tmp_path, glossary=glossary))

    assert not report.ok
    assert [(p.file, p.line, p.field) for p in report.check_problems] == [(GLOSSARY, line, field)]
    assert words in report.check_problems[0].message


def test_the_cli_reports_a_glossary_problem(tmp_path: Path) -> None:
    result = _validate(_mesh(tmp_path, glossary=GOOD_GLOSSARY.replace("thing_id", "colour")))

    assert result.returncode == 1
    assert result.stdout.startswith(f"{GLOSSARY}:5: terms[0].columns[0]: ")
    assert "Traceback" not in result.stderr


_FORKED_CHECK = """
import json, os, sys
from pathlib import Path
from meshlake.platform import validate_mesh
from meshlake.platform.lineage._columns import _sql_column_lineage
from meshlake.platform.specs import _loader, _transform_check as check, _yaml

parent, marks = os.getpid(), Path(sys.argv[2])
def observed(kind, function):
    def call(*args):
        if os.getpid() != parent:
            with marks.open("a") as out:
                out.write(f"{kind} {os.getpid()}\\n")
        return function(*args)
    return call
check._follow = observed("sql", check._follow)
_yaml._parse_located = observed("yaml", _yaml._parse_located)
found = {}
for name, threshold in (("forked", 1), ("serial", 10**9)):
    check.PARALLEL_FROM = _yaml.PREPARSE_FROM = threshold
    _yaml._LOCATED.clear(), _loader._PARSED.clear(), _sql_column_lineage.cache_clear()
    report = validate_mesh(Path(sys.argv[1]))
    found[name] = [[p.file, p.line, p.message] for p in report.check_problems]
    found[name + " files"] = report.files_checked
print(json.dumps(found))
"""


def test_a_large_mesh_is_parsed_and_followed_in_forked_workers_with_the_same_findings(
    tmp_path: Path,
) -> None:
    """Above PREPARSE_FROM spec files and PARALLEL_FROM transforms, a process with no other
    thread (the CLI) splits them among forked workers: the problems are the serial ones. (A fresh interpreter:
    the test process has threads, so it would check them itself.)"""
    project = tmp_path / "sample"
    for folder in ("domains", "infra"):
        shutil.copytree(REPO / folder, project / folder)
    orders = project / "domains/sales/products/orders/transform.sql"
    orders.write_text(orders.read_text().replace("WHERE order_id IS NOT NULL", "WHERE colour"))
    marks = tmp_path / "forked-pids"

    done = subprocess.run(
        [sys.executable, "-c", _FORKED_CHECK, str(project), str(marks)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )

    found = json.loads(done.stdout)
    assert found["forked"] == found["serial"]
    assert [file for file, _, _ in found["serial"]] == [
        "domains/sales/products/orders/transform.sql"
    ]
    assert "colour" in found["serial"][0][2]
    assert found["forked files"] == found["serial files"]
    kinds = {line.split()[0] for line in marks.read_text().splitlines()}
    assert kinds == {"sql", "yaml"}, "no spec file or transform was read in a forked worker"
