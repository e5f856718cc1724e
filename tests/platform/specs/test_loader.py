"""Loading the specs: the sample mesh and the test mesh load, link and order correctly."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlake.platform import PortRef, ProductRef, load_mesh
from meshlake.platform.specs import UnknownProductError
from meshlake.platform.specs._yaml import load_located_yaml
from tests.helpers import MINI_MESH, REPO

pytestmark = pytest.mark.unit


def test_test_mesh_links_inputs_to_ports_and_raw_sources() -> None:
    mesh = load_mesh(MINI_MESH)

    things = mesh.product("alpha.things")
    summary = mesh.product("alpha.summary")
    assert [binding.raw.source.id for binding in things.inputs if binding.raw] == [
        "alpha.raw.things"
    ]
    assert [binding.output for binding in summary.inputs] == [PortRef("alpha", "things", "things")]
    assert summary.upstream == {ProductRef("alpha", "things")}
    assert things.is_source_aligned and not summary.is_source_aligned
    assert [product.ref.name for product in mesh.ordered()] == ["things", "summary"]
    assert [product.ref.name for product in mesh.downstream(things.ref)] == ["summary"]
    assert things.ports["things"].contract.primary_key == ["thing_id"]
    assert things.ports["things"].transform_file.name == "transform.sql"
    assert summary.ports["summary"].transform_file.name == "transform.py"


def test_sample_mesh_loads_with_every_domain_and_cross_domain_dependency() -> None:
    mesh = load_mesh(REPO)

    assert set(mesh.domains) >= {"hr", "operations", "sales"}
    assert {zone.kind for zone in mesh.zones.values()} == {"governance", "data"}
    regions = {mesh.zones[domain.landing_zone].region for domain in mesh.domains.values()}
    assert len(regions) >= 2
    cross_domain = [
        (str(product.ref), str(upstream))
        for product in mesh.products.values()
        for upstream in product.upstream
        if upstream.domain != product.ref.domain
    ]
    assert any(
        reader.startswith("sales.") and read == "hr.employees" for reader, read in cross_domain
    )
    order = [str(product.ref) for product in mesh.ordered()]
    for product in mesh.products.values():
        for upstream in product.upstream:
            assert order.index(str(upstream)) < order.index(str(product.ref))


def test_unknown_product_names_the_known_ones() -> None:
    mesh = load_mesh(MINI_MESH)
    with pytest.raises(
        UnknownProductError, match=r"no product 'alpha\.nope'.*known: alpha\.summary, alpha\.things"
    ):
        mesh.product("alpha.nope")
    with pytest.raises(UnknownProductError, match=r"write it as domain\.product$"):
        mesh.product("just-a-name")


def test_located_yaml_remembers_the_line_of_every_key(tmp_path: Path) -> None:
    file = tmp_path / "doc.yaml"
    file.write_text("a: 1\nitems:\n  - name: x\n    deep:\n      key: 2\n  - name: y\n")

    document = load_located_yaml(file)

    assert document.data == {"a": 1, "items": [{"name": "x", "deep": {"key": 2}}, {"name": "y"}]}
    assert document.line_of(("items", 0, "deep", "key")) == 5
    assert document.line_of(("items", 1, "name")) == 6
    assert document.line_of(("items", 1, "missing")) == 6


def test_refs_parse_and_print_round_trip() -> None:
    assert str(ProductRef.parse("hr.employees")) == "hr.employees"
    port = PortRef.parse("hr.employees.employees")
    assert port.asset_key == ["hr", "employees", "employees"]
    assert port.product_ref == ProductRef("hr", "employees")
    with pytest.raises(ValueError, match=r"write it as domain\.product\.port"):
        PortRef.parse("hr.Employees.x")
