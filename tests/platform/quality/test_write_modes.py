"""Real Spark + Delta: uniqueness rules judge an append with the table's rows (an append that
repeats a primary key blocks); a merge upserts, so its rules judge the rows it brings."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable

from meshlake.platform import PortRef
from meshlake.platform.quality import QualityError
from tests.helpers import engine_platform

pytestmark = pytest.mark.integration

THINGS = PortRef("alpha", "things", "things")
OUTPUT = "outputPorts:\n  - name: things\n    version: 1.0.0\n    contractId: alpha.things.things\n"


def _platform(project: Path, mode: str):
    descriptor = project / "domains/alpha/products/things/product.yaml"
    descriptor.write_text(
        descriptor.read_text().replace(
            OUTPUT,
            OUTPUT + f"    customProperties:\n      - property: writeMode\n        value: {mode}\n",
        )
    )
    platform = engine_platform(project)
    platform.ingest(scale=1.0)
    return platform


def _replace_raw(platform, rows: list[str]) -> None:
    drop = Path(platform.state_home) / "lake/lab/_raw/alpha/things_raw/part-00000.csv"
    drop.write_text("\n".join(["thing_id,label,weight,kind", *rows]) + "\n")


def test_an_append_that_repeats_a_primary_key_blocks(mini_project: Path, spark) -> None:
    platform = _platform(mini_project, "append")
    _replace_raw(platform, ["T0001,one,1.5,a", "T0002,two,2.5,b"])
    first = platform.materialize(["alpha.things"])[0]
    assert first.status == "published", first.error
    location = first.ports[0].location
    _replace_raw(platform, ["T0003,three,3.5,c", "T0002,two,2.5,b"])

    with pytest.raises(QualityError) as caught:
        platform.materialize_product("alpha.things")

    blocking = [r for report in caught.value.reports for r in report.results if r.blocking]
    assert [(r.rule.name, r.unexpected_count, r.failing_sample) for r in blocking] == [
        ("things_primary_key", 2, ("T0002",))
    ]
    assert DeltaTable(location).version() == 0
    # Only committed files remain: the staged append was removed.
    on_disk = {path.name for path in Path(location).glob("*.parquet")}
    assert on_disk == {uri.rsplit("/", 1)[-1] for uri in DeltaTable(location).file_uris()}


def test_an_append_of_new_keys_is_judged_with_the_whole_table(mini_project: Path, spark) -> None:
    platform = _platform(mini_project, "append")
    _replace_raw(platform, ["T0001,one,1.5,a", "T0002,two,2.5,b"])
    platform.materialize(["alpha.things"])
    _replace_raw(platform, ["T0003,three,3.5,c"])

    port = platform.materialize(["alpha.things"])[0].ports[0]

    assert (port.version, port.rows) == (1, 3)
    assert port.quality is not None
    key = next(r for r in port.quality.results if r.rule.name == "things_primary_key")
    assert (key.passed, key.unexpected_count) == (True, 0)


def test_a_merge_judges_uniqueness_on_the_rows_it_brings(mini_project: Path, spark) -> None:
    platform = _platform(mini_project, "merge")
    _replace_raw(platform, ["T0001,one,1.5,a", "T0002,two,2.5,b"])
    platform.materialize(["alpha.things"])
    _replace_raw(platform, ["T0002,deux,2.5,b", "T0003,three,3.5,c"])

    port = platform.materialize(["alpha.things"])[0].ports[0]

    assert port.rows == 3
    labels = {
        row["thing_id"]: row["label"]
        for row in DeltaTable(port.location).to_pyarrow_table().to_pylist()
    }
    assert labels == {"T0001": "one", "T0002": "deux", "T0003": "three"}
