"""Which engine runs a product, and what the DuckDB engine refuses (no Spark needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlake.platform._duck import Untranspilable, choose_engine, duckdb_refusal, transpile
from meshlake.platform.specs import load_mesh, validate_mesh
from tests.helpers import REPO, make_platform

pytestmark = pytest.mark.unit

PRODUCT_FILE = "domains/alpha/products/things/product.yaml"
ZONE_FILE = "infra/landing-zones/lab.yaml"


def _engine(project: Path, value: str) -> None:
    file = project / PRODUCT_FILE
    file.write_text(file.read_text() + f"  - property: engine\n    value: {value}\n")


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT initcap(a) FROM t", "function INITCAP is not known to behave alike"),
        ("SELECT reflect('java.lang.Math', 'random') FROM t", "function reflect is not known"),
        ("SELECT to_date(a, 'dd.MM.yyyy') FROM t", "to_date with a format is not carried over"),
        ("SELECT * FROM parquet.`/etc/passwd`", "which is no input"),
        ("SELECT * FROM other", "the transform reads other, which is no input"),
        ("SELECT substr(a, -2) FROM t", "negative positions differ"),
        ("SELECT sha2(a, 512) FROM t", "sha2 with another length than 256"),
        ("SELECT 1; SELECT 2", "not one SELECT query"),
        ("SELECT FROM WHERE", "sqlglot cannot parse"),
    ],
)
def test_transforms_that_cannot_be_carried_over_are_refused_with_the_reason(
    sql: str, reason: str
) -> None:
    with pytest.raises(Untranspilable, match=reason):
        transpile(sql, ["t"])


def test_spark_meanings_are_kept() -> None:
    # ANSI Spark: CAST and to_date fail on a bad value, so DuckDB must not turn them into nulls.
    assert transpile("SELECT CAST(a AS INT), to_date(b) FROM t", ["t"]) == (
        "SELECT CAST(a AS INT), CAST(b AS DATE) FROM t"
    )
    assert "TRY_CAST" in transpile("SELECT try_cast(a AS INT) FROM t", ["t"])
    # try_to_date keeps its format; regexp_replace replaces every match, as in Spark.
    assert "TRY_STRPTIME(a, '%Y/%m/%d')" in transpile(
        "SELECT try_to_date(a, 'yyyy/MM/dd') FROM t", ["t"]
    )
    assert "'g'" in transpile("SELECT regexp_replace(a, '[^0-9]', '') FROM t", ["t"])


def test_decimal_division_and_average_follow_the_input_types() -> None:
    schema = {"t": {"d": "DECIMAL(12,2)", "n": "BIGINT", "x": "DOUBLE"}}
    # Decimal: computed exactly in 128-bit integers (tests/platform/duck/test_decimals.py).
    for sql in ("SELECT d / n FROM t", "SELECT avg(d) FROM t", "SELECT n / 2.0 FROM t"):
        assert "AS HUGEINT)" in transpile(sql, ["t"], schema)
    # Without the inputs' types a decimal cannot be told: refused.
    with pytest.raises(Untranspilable, match="a decimal cannot be told"):
        transpile("SELECT d / n FROM t", ["t"])
    # DOUBLE on both engines: carried over, a zero divisor failing as in ANSI Spark.
    doubles = transpile("SELECT x / n, avg(x), n / 2 FROM t", ["t"], schema)
    assert "HUGEINT" not in doubles
    assert "AVG(x)" in doubles
    assert "THEN error('[DIVIDE_BY_ZERO] Division by zero in x / n" in doubles
    assert doubles.endswith(", n / NULLIF(2, 0) FROM t")  # a literal divisor needs no guard
    with pytest.raises(Untranspilable, match="cannot resolve the transform's columns"):
        transpile("SELECT missing FROM t", ["t"], schema)


def test_sample_mesh_sql_products_run_on_duckdb() -> None:
    mesh = load_mesh(REPO)
    refused = {
        str(product.ref): duckdb_refusal(mesh, product) for product in mesh.products.values()
    }
    assert {name for name, reason in refused.items() if reason is None} == {
        "hr.employees",
        "hr.engagement_retention",
        "operations.pump_telemetry",
        "sales.account_manager_performance",
        "sales.customer_churn_features",
        "sales.customers",
        "sales.orders",
    }
    # Only the Python transform needs Spark.
    assert "Python transform" in (refused["operations.pump_health"] or "")


def test_engine_comes_from_the_product_else_its_zone(mini_project: Path) -> None:
    platform = make_platform(mini_project)
    product = platform.mesh.product("alpha.things")
    assert choose_engine(platform.mesh, product, platform.state_home).engine == "spark"

    zone = mini_project / ZONE_FILE
    zone.write_text(zone.read_text() + "engine: duckdb\n")
    mesh = load_mesh(mini_project)
    choice = choose_engine(mesh, mesh.product("alpha.things"), platform.state_home)
    assert (choice.engine, choice.asked, choice.reason) == ("duckdb", "duckdb", "")
    # A Python transform cannot run on DuckDB: asked for, it is refused with the reason.
    summary = choose_engine(mesh, mesh.product("alpha.summary"), platform.state_home)
    assert summary.refused and "Python transform" in summary.reason

    _engine(mini_project, "spark")
    mesh = load_mesh(mini_project)
    assert choose_engine(mesh, mesh.product("alpha.things"), platform.state_home).engine == "spark"


def test_auto_picks_duckdb_for_small_inputs_and_spark_over_the_threshold(
    mini_project: Path,
) -> None:
    _engine(mini_project, "auto")
    platform = make_platform(mini_project)
    platform.ingest(scale=1.0)
    product = platform.mesh.product("alpha.things")

    small = choose_engine(platform.mesh, product, platform.state_home)
    large = choose_engine(platform.mesh, product, platform.state_home, max_input_bytes=100)

    assert (small.engine, small.reason) == ("duckdb", "")
    assert large.engine == "spark"
    assert "over the DuckDB limit of 100" in large.reason
    summary = choose_engine(
        platform.mesh, platform.mesh.product("alpha.summary"), platform.state_home
    )
    assert summary.engine == "spark" and not summary.refused


def test_a_bad_engine_is_named_with_file_and_line(mini_project: Path) -> None:
    _engine(mini_project, "turbo")
    zone = mini_project / ZONE_FILE
    zone.write_text(zone.read_text() + "engine: fast\n")

    report = validate_mesh(mini_project)

    text = "\n".join(str(problem) for problem in report.problems)
    assert "engine 'turbo' is not one of spark, duckdb, auto" in text
    assert f"{PRODUCT_FILE}:" in text
    assert "lab.yaml" in text and "engine" in text and "fast" in text


def test_the_duckdb_engine_imports_no_pyspark() -> None:
    import subprocess
    import sys

    code = (
        "import sys, meshlake.platform._duck, meshlake.platform._publish;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'delta')))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", found.stdout


def test_the_same_transform_over_the_same_inputs_is_transpiled_once() -> None:
    # The auto engine's choice and the publication after it ask for the same transpilation.
    from meshlake.platform._duck._transpile import _transpiled

    _transpiled.cache_clear()
    sql = "SELECT kind, SUM(weight) / COUNT(*) AS mean FROM things GROUP BY kind"
    decimal = {"things": {"kind": "string", "weight": "decimal(10,3)"}}
    first = transpile(sql, ["things"], decimal)
    again = transpile(sql, ("things",), {"things": dict(decimal["things"])})
    as_double = transpile(sql, ["things"], {"things": {"kind": "string", "weight": "double"}})

    assert again == first
    assert as_double != first  # other input types: another transpilation (decimal division)
    info = _transpiled.cache_info()
    assert (info.hits, info.misses) == (1, 2)
    with pytest.raises(Untranspilable, match="a decimal cannot be told"):
        transpile(sql, ["things"])  # no types: refused, and refused again, never kept
    with pytest.raises(Untranspilable, match="a decimal cannot be told"):
        transpile(sql, ["things"])
