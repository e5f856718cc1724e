"""The mesh kept in the state folder: reused while the spec files are unchanged, never after."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshlake.platform.specs import MESH_CACHE_DIR, SpecError, load_mesh, validate_mesh
from meshlake.platform.specs._mesh_cache import CACHE_FILE, REPORT_FILE
from meshlake.platform.specs._yaml import load_located_yaml
from tests.helpers import MINI_MESH

pytestmark = pytest.mark.unit

CONTRACT = Path("domains/alpha/products/things/contract.yaml")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(MINI_MESH, root)
    return root


def _cache(tmp_path: Path) -> Path:
    return tmp_path / "home" / MESH_CACHE_DIR


def _kept(tmp_path: Path) -> tuple[int, int]:
    """The kept file's inode and modification time: a rewrite (renamed over) changes them."""
    stat = (_cache(tmp_path) / CACHE_FILE).stat()
    return stat.st_ino, stat.st_mtime_ns


def test_a_second_load_of_unchanged_specs_reuses_the_kept_mesh(
    project: Path, tmp_path: Path
) -> None:
    first = load_mesh(project, cache=_cache(tmp_path))
    kept = _kept(tmp_path)

    second = load_mesh(project, cache=_cache(tmp_path))

    assert _kept(tmp_path) == kept  # read, not written again
    assert second is not first
    assert second.products == first.products
    assert second.agreements == first.agreements
    assert [product.ref for product in second.ordered()] == [
        product.ref for product in first.ordered()
    ]


def test_an_edited_contract_is_loaded_again(project: Path, tmp_path: Path) -> None:
    load_mesh(project, cache=_cache(tmp_path))
    kept = _kept(tmp_path)
    contract = project / CONTRACT
    contract.write_text(contract.read_text().replace("name: label", "name: title"))

    mesh = load_mesh(project, cache=_cache(tmp_path))

    columns = [prop.name for prop in mesh.product("alpha.things").ports["things"].contract.columns]
    assert "title" in columns and "label" not in columns
    assert _kept(tmp_path) != kept


def test_a_broken_spec_added_after_caching_fails_naming_its_file(
    project: Path, tmp_path: Path
) -> None:
    load_mesh(project, cache=_cache(tmp_path))
    broken = project / "domains/alpha/products/broken/product.yaml"
    broken.parent.mkdir()
    broken.write_text("name: broken\nid: [unclosed\n")

    with pytest.raises(SpecError) as raised:
        load_mesh(project, cache=_cache(tmp_path))

    assert "domains/alpha/products/broken/product.yaml" in str(raised.value)


def test_a_mesh_with_problems_is_not_kept(project: Path, tmp_path: Path) -> None:
    (project / CONTRACT).write_text("id: [unclosed\n")

    with pytest.raises(SpecError):
        load_mesh(project, cache=_cache(tmp_path))

    assert not (_cache(tmp_path) / CACHE_FILE).exists()


def test_an_unreadable_kept_file_is_a_miss_and_is_replaced(project: Path, tmp_path: Path) -> None:
    load_mesh(project, cache=_cache(tmp_path))
    kept = _cache(tmp_path) / CACHE_FILE
    kept.write_bytes(kept.read_bytes()[:200])  # truncated: the key matches, the pickle does not

    mesh = load_mesh(project, cache=_cache(tmp_path))

    assert "alpha.things" in {str(ref) for ref in mesh.products}
    assert kept.stat().st_size > 200


def test_an_edited_yaml_file_is_parsed_again(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: one\n")
    assert load_located_yaml(spec).data == {"name": "one"}

    spec.write_text("name: two\nother: 3\n")

    document = load_located_yaml(spec)
    assert document.data == {"name": "two", "other": 3}
    assert document.line_of(("other",)) == 2


def test_a_clean_validation_is_reused_until_a_transform_changes(
    project: Path, tmp_path: Path
) -> None:
    first = validate_mesh(project, cache=_cache(tmp_path))
    assert first.ok
    kept = (_cache(tmp_path) / REPORT_FILE).stat().st_mtime_ns

    again = validate_mesh(project, cache=_cache(tmp_path))
    assert again.ok and again.files_checked == first.files_checked
    assert (_cache(tmp_path) / REPORT_FILE).stat().st_mtime_ns == kept

    transform = project / "domains/alpha/products/things/transform.sql"
    transform.write_text(transform.read_text().replace("FROM things_raw", "FROM elsewhere"))
    changed = validate_mesh(project, cache=_cache(tmp_path))

    assert not changed.ok
    assert [problem.file for problem in changed.check_problems] == [
        "domains/alpha/products/things/transform.sql"
    ]
    assert "elsewhere" in changed.check_problems[0].message


def test_a_validation_with_problems_is_made_afresh(project: Path, tmp_path: Path) -> None:
    transform = project / "domains/alpha/products/things/transform.sql"
    transform.write_text(transform.read_text().replace("FROM things_raw", "FROM elsewhere"))

    assert not validate_mesh(project, cache=_cache(tmp_path)).ok

    assert not (_cache(tmp_path) / REPORT_FILE).exists()


def test_a_validation_keeps_the_mesh_for_the_next_load(project: Path, tmp_path: Path) -> None:
    report = validate_mesh(project, cache=_cache(tmp_path))
    kept = _kept(tmp_path)

    mesh = load_mesh(project, cache=_cache(tmp_path))

    assert _kept(tmp_path) == kept
    assert report.mesh is not None and mesh.products == report.mesh.products
