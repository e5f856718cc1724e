"""The sample specs are valid for independent readers: the official JSON Schemas and datacontract-cli."""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from meshlake.platform import load_mesh
from meshlake.platform.specs._yaml import load_located_yaml
from tests.helpers import REPO

pytestmark = pytest.mark.unit

SAMPLE = load_mesh(REPO)
CONTRACTS = sorted(port.contract_file for port in SAMPLE.ports)
DESCRIPTORS = sorted(product.file for product in SAMPLE.products.values())


def _validator(schema_file: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_file.read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _errors(validator: jsonschema.protocols.Validator, file: Path) -> list[str]:
    # JSON has no dates: a YAML date is a string to the standards' JSON Schemas.
    document = json.loads(json.dumps(load_located_yaml(file).data, default=str))
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda path: str(path.relative_to(REPO)))
def test_sample_contract_is_valid_odcs_v3_1(contract: Path, shared_specs: Path) -> None:
    validator = _validator(shared_specs / "odcs" / "odcs-json-schema-v3.1.0.json")
    assert _errors(validator, contract) == []


@pytest.mark.parametrize("descriptor", DESCRIPTORS, ids=lambda path: str(path.relative_to(REPO)))
def test_sample_descriptor_is_valid_odps_v1_0(descriptor: Path, shared_specs: Path) -> None:
    validator = _validator(shared_specs / "odps" / "odps-json-schema-v1.0.0.json")
    assert _errors(validator, descriptor) == []


def test_the_schemas_catch_a_broken_contract(shared_specs: Path, tmp_path: Path) -> None:
    broken = tmp_path / "contract.yaml"
    broken.write_text(
        CONTRACTS[0].read_text().replace("logicalType: string", "logicalType: strng", 1)
    )
    validator = _validator(shared_specs / "odcs" / "odcs-json-schema-v3.1.0.json")
    assert any("'strng' is not one of" in error for error in _errors(validator, broken))


def _lint(contract: Path) -> subprocess.CompletedProcess[str]:
    datacontract = shutil.which("datacontract")
    assert datacontract, "datacontract-cli is a dev dependency; run `uv sync`"
    return subprocess.run(
        [datacontract, "lint", str(contract)], capture_output=True, text=True, check=False
    )


def test_datacontract_lint_passes_on_every_sample_contract() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(CONTRACTS, pool.map(_lint, CONTRACTS), strict=True))
    failed = {
        str(path.relative_to(REPO)): result.stdout[-600:]
        for path, result in results.items()
        if result.returncode != 0
    }
    assert failed == {}
    assert len(results) >= 9


def test_datacontract_lint_fails_on_a_broken_contract(tmp_path: Path) -> None:
    broken = tmp_path / "contract.yaml"
    broken.write_text(
        CONTRACTS[0].read_text().replace("logicalType: string", "logicalType: strng", 1)
    )
    result = _lint(broken)
    assert result.returncode == 1
    assert "strng" in result.stdout
