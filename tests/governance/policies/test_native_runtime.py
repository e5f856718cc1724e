"""regopy loaded first in a process must not take DuckDB down (see policies/_native.py).

A fresh interpreter each time: what matters is which library loads the C++ runtime first, which
only a new process shows. Loading the policies first and then compiling regular expressions in
DuckDB aborted the process ("double free or corruption") before the runtime was loaded ahead of
regopy.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

POLICIES_THEN_DUCKDB = """
import meshlake.governance.policies
import duckdb

connection = duckdb.connect()
for pattern in ["^thing [0-9]+$", "^[A-Z]{2}[0-9]{4}$", "^[^@]+@[^@]+$"]:
    assert connection.execute("SELECT regexp_matches('AB1234', ?)", [pattern]).fetchall()
print("regular expressions compiled")
"""


def test_duckdb_compiles_regular_expressions_after_the_policies_are_loaded() -> None:
    done = subprocess.run(
        [sys.executable, "-c", POLICIES_THEN_DUCKDB],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "regular expressions compiled"
