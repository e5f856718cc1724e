"""The DuckDB engine through the one governed publish path (the embedded governance service over
real HTTP): a product on ``engine: duckdb`` publishes a Delta table that governance records from
its log and that Spark reads and overwrites; refusals name their reason and ``auto`` falls back to
Spark; failures leave no files; a retried run commits nothing twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from deltalake import DeltaTable

from meshlake.platform import PortRef, ProductResult
from tests.helpers import governed_platform, make_platform

pytestmark = pytest.mark.integration

THINGS = PortRef("alpha", "things", "things")
PRODUCT_FILE = "domains/alpha/products/things/product.yaml"
TRANSFORM_FILE = "domains/alpha/products/things/transform.sql"


def set_engine(project: Path, engine: str) -> None:
    """Give alpha.things customProperties ``engine``."""
    file = project / PRODUCT_FILE
    file.write_text(
        file.read_text() + f"  - property: engine\n    value: {engine}\n", encoding="utf-8"
    )


@pytest.fixture
def platform(mini_project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(
        "MESHLAKE_POLICY_GATE", "warn"
    )  # the mini mesh is bare (see test_materialize)
    set_engine(mini_project, "duckdb")
    with governed_platform(mini_project) as platform:
        platform.ingest(scale=1.0)
        yield platform


def _publish(platform, name: str = "alpha.things") -> ProductResult:
    (result,) = platform.publish([name])
    return result


def _events(platform) -> list[dict]:
    journal = Path(platform.state_home) / "lineage" / "events.jsonl"
    return [json.loads(line) for line in journal.read_text().splitlines()]


def test_duckdb_product_is_published_recorded_and_readable_by_spark(platform, spark) -> None:
    from meshlake.platform._schema import schema_differences

    result = _publish(platform)

    assert result.status == "published", result.error
    assert result.engine == "duckdb"
    (port,) = result.ports
    assert (port.version, port.rows) == (0, 100)
    assert result.recorded
    # Governance read the Delta log itself and published the version.
    client = platform.governance(platform.mesh.product("alpha.things"))
    assert client.published_version(THINGS) == 0
    table = DeltaTable(platform.location(THINGS))
    protocol = table.protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
    commit = table.history(1)[0]
    assert json.loads(commit["userMetadata"])["meshlake.run_id"] == result.run_id
    assert table.transaction_version(result.run_id) == 0
    # Spark reads the table with the contract's schema (required columns NOT NULL).
    frame = spark.read.format("delta").load(platform.location(THINGS))
    assert frame.count() == 100
    contract = platform.mesh.port(THINGS).contract
    assert schema_differences(frame.schema, contract) == []
    # The lineage events name the engine that ran.
    engines = {
        event["eventType"]: event["run"]["facets"]["processing_engine"]["name"]
        for event in _events(platform)
        if event["run"]["runId"] == result.run_id
    }
    assert engines == {"START": "duckdb", "COMPLETE": "duckdb"}


def test_spark_reads_and_overwrites_a_duckdb_table_and_a_python_product_reads_it(
    platform, mini_project: Path, spark
) -> None:
    assert _publish(platform).status == "published"
    downstream = _publish(platform, "alpha.summary")  # a Python transform: Spark
    assert downstream.status == "published", downstream.error
    assert downstream.engine == "spark"

    product_file = mini_project / PRODUCT_FILE
    product_file.write_text(product_file.read_text().replace("value: duckdb", "value: spark"))
    platform.__dict__.pop("mesh", None)  # reload the specs
    again = _publish(platform)

    assert again.status == "published", again.error
    assert again.engine == "spark"
    assert again.ports[0].version == 1
    assert DeltaTable(platform.location(THINGS)).to_pyarrow_table().num_rows == 100


def test_untranspilable_transform_is_refused_for_duckdb_with_the_reason(
    platform, mini_project: Path
) -> None:
    (mini_project / TRANSFORM_FILE).write_text(
        "SELECT thing_id, initcap(label) AS label, weight, kind FROM things_raw"
    )

    result = _publish(platform)

    assert result.status == "failed"
    assert result.error is not None
    assert "engine duckdb cannot run it faithfully" in result.error
    assert "function INITCAP is not known to behave alike" in result.error
    assert not Path(platform.location(THINGS)).exists()


def test_auto_falls_back_to_spark_for_an_untranspilable_transform(
    platform, mini_project: Path, spark
) -> None:
    (mini_project / TRANSFORM_FILE).write_text(
        "SELECT thing_id, initcap(label) AS label, weight, kind FROM things_raw"
    )
    product_file = mini_project / PRODUCT_FILE
    product_file.write_text(product_file.read_text().replace("value: duckdb", "value: auto"))
    platform.__dict__.pop("mesh", None)

    result = _publish(platform)

    assert result.status == "published", result.error
    assert result.engine == "spark"


def test_uncastable_value_and_missing_required_value_are_refused_with_sparks_wording(
    platform,
) -> None:
    drop = Path(platform.state_home) / "lake/lab/_raw/alpha/things_raw/part-00000.csv"
    drop.write_text("thing_id,label,weight,kind\nT1,one,1.5,a\nT2,two,heavy,b\nT3,three,1.2345,\n")

    result = _publish(platform)

    assert result.status == "failed"
    message = result.error or ""
    assert "alpha.things" in message and "column 'weight'" in message
    assert "value 'heavy' cannot be cast to DECIMAL(8,3)" in message
    assert "value '1.2345' would lose information as DECIMAL(8,3)" in message
    assert "column 'kind': is required but a row has no value" in message
    # Nothing was written: no table, no files.
    assert not Path(platform.location(THINGS)).exists() or not any(
        Path(platform.location(THINGS)).iterdir()
    )


def test_released_stage_leaves_no_files_and_a_retried_run_commits_nothing_twice(
    mini_project: Path,
) -> None:
    from meshlake.platform._duck import DuckMaterializer

    set_engine(mini_project, "duckdb")
    platform = make_platform(mini_project)
    platform.ingest(scale=1.0)
    engine = DuckMaterializer(platform.mesh, platform.state_home, data_docs=False)
    product = platform.mesh.product("alpha.things")
    folder = Path(platform.location(THINGS))

    prepared = engine.prepare(product, "run-released")
    staged = [Path(file) for port in prepared.ports for file in port.staged.files]
    assert staged and all(file.exists() for file in staged)
    assert not (folder / "_delta_log").exists()  # nothing readable before the commit
    prepared.release()
    assert not any(file.exists() for file in staged)

    first = engine.materialize_ungoverned(product, "run-retried")
    second = engine.materialize_ungoverned(product, "run-retried")

    assert [port.version for port in first] == [0]
    assert [port.version for port in second] == [0]
    table = DeltaTable(str(folder))
    assert table.version() == 0
    assert sorted(p.name for p in folder.glob("*.parquet")) == sorted(
        Path(uri).name for uri in table.file_uris()
    )


def test_a_duckdb_publication_starts_no_spark(platform) -> None:
    publisher = platform.publisher()

    result = publisher.publish(platform.mesh.product("alpha.things"))

    assert result.status == "published", result.error
    assert result.engine == "duckdb"
    assert not publisher.materializer.spark_started
