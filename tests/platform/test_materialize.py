"""Real Spark + Delta: products publish exactly what their contracts promise, atomically."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from deltalake import DeltaTable

from meshlake.platform import ConformanceError, MaterializationError, PortRef
from tests.helpers import make_platform

pytestmark = pytest.mark.integration

THINGS = PortRef("alpha", "things", "things")
SUMMARY = PortRef("alpha", "summary", "summary")


@pytest.fixture
def platform(mini_project: Path, spark: object):
    platform = make_platform(mini_project)
    platform.ingest(scale=1.0)
    return platform


def _write_raw(platform, rows: list[str]) -> None:
    """Replace the raw drop with exact CSV rows (header included)."""
    drop = (
        Path(platform.state_home)
        / "lake"
        / "lab"
        / "_raw"
        / "alpha"
        / "things_raw"
        / "part-00000.csv"
    )
    drop.write_text("\n".join(["thing_id,label,weight,kind", *rows]) + "\n")


def test_mesh_materializes_in_order_with_contract_schema_and_versions(platform, spark) -> None:
    results = platform.materialize()

    assert [(r.product, r.status) for r in results] == [
        ("alpha.things", "published"),
        ("alpha.summary", "published"),
    ]
    things, summary = results[0].ports[0], results[1].ports[0]
    assert (things.version, things.rows) == (0, 100)
    assert (summary.version, summary.rows) == (0, 4)
    table = spark.read.format("delta").load(things.location)
    assert [(f.name, f.dataType.simpleString()) for f in table.schema.fields] == [
        ("thing_id", "string"),
        ("label", "string"),
        ("weight", "decimal(8,3)"),
        ("kind", "string"),
    ]
    per_kind = {
        row["kind"]: row["things"]
        for row in spark.read.format("delta").load(summary.location).collect()
    }
    assert per_kind == {"a": 25, "b": 25, "c": 25, "d": 25}
    assert things.location.endswith("/lake/lab/alpha/things/things")

    again = platform.materialize(["alpha.things"])
    assert again[0].ports[0].version == 1


def test_delta_rs_reads_what_spark_wrote(platform) -> None:
    port = platform.materialize(["alpha.things"])[0].ports[0]

    table = DeltaTable(port.location)
    protocol = table.protocol()
    data = table.to_pyarrow_table()

    assert table.version() == 0
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
    assert data.num_rows == 100
    assert data.column_names == ["thing_id", "label", "weight", "kind"]
    assert str(data.schema.field("weight").type) == "decimal128(8, 3)"


def test_uncastable_value_fails_naming_column_value_and_product_and_keeps_previous_version(
    platform, spark
) -> None:
    platform.materialize(["alpha.things"])
    _write_raw(platform, ["T1,one,1.5,a", "T2,two,heavy,b"])

    with pytest.raises(ConformanceError) as caught:
        platform.materialize_product("alpha.things")

    message = str(caught.value)
    assert "alpha.things" in message and "column 'weight'" in message
    assert "value 'heavy' cannot be cast to DECIMAL(8,3)" in message
    assert DeltaTable(platform.location(THINGS)).version() == 0
    assert spark.read.format("delta").load(platform.location(THINGS)).count() == 100


def test_null_in_required_column_is_refused(platform) -> None:
    _write_raw(platform, ["T1,one,1.5,a", "T2,two,2.5,"])

    with pytest.raises(ConformanceError, match="column 'kind': is required but a row has no value"):
        platform.materialize_product("alpha.things")

    # Nothing was committed: the table does not exist for any reader.
    assert list(Path(platform.location(THINGS), "_delta_log").glob("*.json")) == []


def test_missing_and_extra_columns_are_named_before_anything_runs(
    platform, mini_project: Path
) -> None:
    transform = mini_project / "domains/alpha/products/things/transform.sql"
    transform.write_text(
        "SELECT thing_id, label, kind, weight * 2 AS double_weight FROM things_raw"
    )

    with pytest.raises(ConformanceError) as caught:
        platform.materialize_product("alpha.things")

    assert caught.value.problems == [
        "column 'weight' is missing from the transform's result (it returns thing_id, label, kind, double_weight)",
        "column 'double_weight' is not in the contract; drop it or add it to contract.yaml",
    ]


def test_columns_are_cast_and_ordered_as_the_contract_says(
    platform, spark, mini_project: Path
) -> None:
    transform = mini_project / "domains/alpha/products/things/transform.sql"
    transform.write_text("SELECT kind, weight, upper(label) AS LABEL, thing_id FROM things_raw")

    port = platform.materialize_product("alpha.things")[0]

    row = spark.read.format("delta").load(port.location).orderBy("thing_id").first()
    assert list(row.asDict()) == ["thing_id", "label", "weight", "kind"]
    assert row["label"] == "THING 1" and isinstance(row["weight"], Decimal)


def test_failure_after_the_write_started_leaves_the_previous_version_intact(
    platform, spark, mini_project: Path
) -> None:
    platform.materialize(["alpha.things"])
    # The transform fails on a row deep in the data, while Spark is already writing files.
    transform = mini_project / "domains/alpha/products/things/transform.sql"
    transform.write_text(
        "SELECT thing_id, label, weight,"
        " CASE WHEN thing_id = 'T0077' THEN raise_error('pump failure at T0077') ELSE kind END AS kind"
        " FROM things_raw"
    )

    with pytest.raises(
        MaterializationError, match=r"previous version kept: .*pump failure at T0077"
    ):
        platform.materialize_product("alpha.things")

    table = DeltaTable(platform.location(THINGS))
    assert table.version() == 0
    assert table.to_pyarrow_table().num_rows == 100
    assert spark.read.format("delta").load(platform.location(THINGS)).count() == 100


def test_failed_product_skips_its_dependents_and_reports_why(platform, mini_project: Path) -> None:
    (mini_project / "domains/alpha/products/things/transform.sql").write_text(
        "SELECT nonsense FROM things_raw"
    )

    results = platform.materialize()

    assert [(r.product, r.status) for r in results] == [
        ("alpha.things", "failed"),
        ("alpha.summary", "skipped"),
    ]
    assert results[0].error.startswith("alpha.things: transform.sql: [UNRESOLVED_COLUMN")
    assert "`nonsense`" in results[0].error
    assert results[1].error == "upstream failed: alpha.things"


def test_append_and_merge_write_modes(platform, spark, mini_project: Path) -> None:
    product = mini_project / "domains/alpha/products/things/product.yaml"
    text = product.read_text()
    platform.materialize(["alpha.things"])

    product.write_text(
        text.replace(
            "contractId: alpha.things.things",
            "contractId: alpha.things.things\n    customProperties:\n      - property: writeMode\n        value: append",
        )
    )
    # New keys: an append that repeats a primary key blocks (tests/platform/quality).
    _write_raw(platform, ["T9001,extra,1.000,a"])
    appended = make_platform(mini_project).materialize_product("alpha.things")[0]
    assert (appended.version, appended.rows) == (1, 101)

    product.write_text(
        text.replace(
            "contractId: alpha.things.things",
            "contractId: alpha.things.things\n    customProperties:\n      - property: writeMode\n        value: merge",
        )
    )
    _write_raw(platform, ["T0001,renamed,1.000,a", "T9999,new,2.000,b"])
    merged = make_platform(mini_project).materialize_product("alpha.things")[0]
    assert (merged.version, merged.rows) == (2, 102)
    label = (
        spark.read.format("delta")
        .load(merged.location)
        .where("thing_id = 'T0001'")
        .select("label")
        .distinct()
        .collect()
    )
    assert [row["label"] for row in label] == ["renamed"]


def test_pinned_input_version_reads_that_version(platform, spark, mini_project: Path) -> None:
    platform.materialize(["alpha.things"])
    _write_raw(platform, ["T1,one,1.5,a"])
    platform.materialize_product("alpha.things")
    summary = mini_project / "domains/alpha/products/summary/product.yaml"
    summary.write_text(
        summary.read_text().replace(
            "contractId: alpha.things.things",
            "contractId: alpha.things.things\n    customProperties:\n      - property: deltaVersion\n        value: 0",
        )
    )

    port = make_platform(mini_project).materialize_product("alpha.summary")[0]

    total = spark.read.format("delta").load(port.location).groupBy().sum("things").first()[0]
    assert total == 100
