"""Column lineage at run time follows the bounds of `meshlake validate`: hostile or huge transform
SQL is refused with a LineageError that names the bound and the line, within seconds, never a hang
or a RecursionError. The hostile cases are validate's own (tests/platform/specs), so the two
cannot drift apart.
"""

from __future__ import annotations

import time
import uuid

import pytest

from meshlake.platform.lineage import LineageError, _limits, sql_column_lineage
from tests.platform.specs.test_transform_sql_check import SQL_CASES

pytestmark = pytest.mark.unit

THINGS = {"things_raw": ["thing_id", "label", "weight", "kind"]}
OUTPUT = ["thing_id", "label", "weight", "kind"]
HOSTILE = [
    "deep_parentheses",
    "too_many_tokens",
    "long_or_chain",
    "too_many_characters",
    "parentheses_past_the_parser",
    "cte_chain",
]


@pytest.mark.parametrize("case", HOSTILE)
def test_run_time_lineage_refuses_what_validate_refuses(case: str) -> None:
    sql, line, words = SQL_CASES[case]

    started = time.perf_counter()
    with pytest.raises(LineageError) as caught:
        sql_column_lineage(sql, THINGS, OUTPUT)

    assert time.perf_counter() - started < _limits.MAX_SQL_SECONDS
    assert words in str(caught.value)
    assert caught.value.line == line


def test_sql_within_the_bounds_is_followed() -> None:
    # A 250-term OR chain and 40 nested parentheses: large, but real SQL may be this large.
    chain = " OR ".join(f"thing_id = 'x{i}'" for i in range(250))
    nested = "(" * 40 + "weight" + ")" * 40
    sql = f"SELECT thing_id, label, {nested} AS weight, kind FROM things_raw WHERE {chain}"

    edges = sql_column_lineage(sql, THINGS, OUTPUT)

    assert ("weight", "weight", "DIRECT", "IDENTITY") in {
        (e.output_column, e.input_column, e.type, e.subtype) for e in edges
    }
    assert ("", "thing_id", "INDIRECT", "FILTER") in {
        (e.output_column, e.input_column, e.type, e.subtype) for e in edges
    }


def test_following_sql_past_the_deadline_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_limits, "MAX_SQL_SECONDS", 0.0)
    # A SQL text of its own: answers are cached per exact input.
    sql = f"SELECT thing_id, label, weight, kind FROM things_raw -- {uuid.uuid4()}"

    with pytest.raises(LineageError, match="took longer than 0 s"):
        sql_column_lineage(sql, THINGS, OUTPUT)
