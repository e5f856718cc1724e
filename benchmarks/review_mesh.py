"""``meshlake review`` on a synthetic 1,000-product mesh, against loading the specs alone.

What it measures: the wall time of ``meshlake.governance.review.review`` (in process, imports done)
on a git repository holding a synthetic mesh of ``--products`` products (default 1,000) in 20
domains over 2 landing zones in different regions. Each product has one output port with 12
columns and a Spark SQL transform reading one or two upstream products (some across domains, so
column lineage is parsed for the consumers of each breaking change). The working tree changes 5%
of the contracts against the base commit: a column removed from every tenth changed contract (a
breaking change with consumers), a nullable column added to the others.

The review does, on top of loading the working tree's specs: ``git archive`` of the base, loading
the base specs, the diff, the consumers of each breaking change (sqlglot column lineage of their
transforms), the personal-data scan and the policies of every changed product. The baseline, in
the same run and on the same files, is ``validate_mesh`` of the working tree (loading and
checking the specs alone); the ratio says what the review costs in units of that. Both start cold
(the loader's cache of parsed files cleared); within the review, the base's files that equal the
working tree's are parsed once.

Each is run ``--repeat`` times, interleaved, and counts its median (the machine is shared).

Why: the review runs on every pull request; the target is at most 10 s for 1,000 products.

    uv run python benchmarks/review_mesh.py [--products 1000] [--repeat 3]

Exits 0 even above the target (it is a measurement); the last line says PASS or FAIL.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from meshlake.governance.policies import default_engine
from meshlake.governance.review import review
from meshlake.platform.specs import validate_mesh
from meshlake.platform.specs._loader import _PARSED

TARGET_SECONDS = 10.0
DOMAINS = 20
COLUMNS = 12
ZONES = {"europe": "westeurope", "america": "eastus"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="meshlake-review-bench-") as folder:
        root = Path(folder)
        started = time.perf_counter()
        changed = build_repository(root, args.products)
        print(
            f"synthetic mesh: {args.products} products, {DOMAINS} domains, "
            f"{changed} contracts changed; written and committed in "
            f"{time.perf_counter() - started:.1f} s"
        )
        engine = default_engine()
        reviews, baselines = [], []
        report = None
        for _ in range(args.repeat):
            # Both start cold, as a review in CI does: no spec parsed earlier in the process.
            _PARSED.clear()
            started = time.perf_counter()
            loaded = validate_mesh(root)
            baselines.append(time.perf_counter() - started)
            assert loaded.ok, loaded.problems[:3]
            _PARSED.clear()
            started = time.perf_counter()
            report = review(root, "HEAD", engine=engine)
            reviews.append(time.perf_counter() - started)
        assert report is not None
        hit = sum(len(change.consumers) for change in report.breaking)
        seconds, baseline = statistics.median(reviews), statistics.median(baselines)
        print(
            f"review found {len(report.breaking)} breaking and {len(report.compatible)} compatible "
            f"changes, {hit} consumers hit, {len(report.violations)} violations"
        )
        print(
            f"baseline (load and check the specs alone): {baseline:.2f} s (median of {args.repeat})"
        )
        print(
            f"meshlake review:                            {seconds:.2f} s (median of {args.repeat})"
        )
        print(f"ratio review / baseline: {seconds / baseline:.2f}x")
        verdict = "PASS" if seconds <= TARGET_SECONDS else "FAIL"
        print(
            f"{verdict}: review of {args.products} products {seconds:.2f} s (target <= {TARGET_SECONDS:.0f} s)"
        )


def build_repository(root: Path, products: int) -> int:
    """Write the mesh, commit it, change 5% of the contracts in the work tree; return how many."""
    rng = random.Random(7)
    zone_names = list(ZONES)
    landing = root / "infra" / "landing-zones"
    landing.mkdir(parents=True)
    domains = [f"domain_{index:02d}" for index in range(DOMAINS)]
    hosted: dict[str, list[str]] = {zone: [] for zone in zone_names}
    for index, domain in enumerate(domains):
        hosted[zone_names[index % 2]].append(domain)
    for zone, region in ZONES.items():
        _dump(
            landing / f"{zone}.yaml",
            {
                "name": zone,
                "kind": "data",
                "region": region,
                "storageRoot": f"lake/{zone}",
                "domains": hosted[zone],
            },
        )
    _dump(
        landing / "governance.yaml",
        {
            "name": "governance",
            "kind": "governance",
            "region": "westeurope",
            "storageRoot": "lake/governance",
        },
    )
    built: list[tuple[str, str]] = []  # (domain, product) in creation order: inputs come first
    per_domain = max(1, products // DOMAINS)
    for index in range(products):
        domain = domains[index // per_domain % DOMAINS]
        name = f"product_{index:04d}"
        upstream = [item for item in built[-200:] if item[0] == domain]
        if built and rng.random() < 0.3:
            upstream.append(rng.choice(built[-200:]))
        inputs = list(dict.fromkeys(rng.sample(upstream, k=min(2, len(upstream)))))
        _write_product(root, domain, name, inputs, index)
        for up_domain, up_name in inputs:
            if up_domain != domain:  # read across domains only under a sharing agreement
                _write_agreement(root, domain, name, up_domain, up_name)
        built.append((domain, name))
    for index, domain in enumerate(domains):
        _dump(
            root / "domains" / domain / "domain.yaml",
            {
                "name": domain,
                "description": f"Synthetic domain {domain}.",
                "landingZone": zone_names[index % 2],
                "team": {
                    "name": f"{domain}-team",
                    "members": [{"username": f"owner@{domain}.example", "role": "owner"}],
                },
                "rawSources": [
                    {
                        "id": f"{domain}.raw.events",
                        "name": "events",
                        "version": "1.0.0",
                        "format": "csv",
                        "schema": ", ".join(f"c{column} STRING" for column in range(COLUMNS)),
                    }
                ],
            },
        )
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "synthetic mesh")
    changed = built[::20]
    for position, (domain, name) in enumerate(changed):
        file = root / "domains" / domain / "products" / name / "contract.yaml"
        contract = yaml.safe_load(file.read_text())
        columns = contract["schema"][0]["properties"]
        if position % 10 == 0:
            columns.pop(3)
        else:
            columns.append(_column("note", "string", "STRING", required=False))
        _dump(file, contract)
    return len(changed)


def _write_agreement(root: Path, domain: str, name: str, up_domain: str, up_name: str) -> None:
    slug = f"{domain}-{name}-reads-{up_domain}-{up_name}".replace("_", "-")
    folder = root / "domains" / domain / "agreements"
    folder.mkdir(parents=True, exist_ok=True)
    _dump(
        folder / f"{slug}.yaml",
        {
            "apiVersion": "meshlake/v1",
            "kind": "SharingAgreement",
            "name": slug,
            "consumer": {"kind": "product", "id": f"{domain}.{name}"},
            "purpose": "synthetic_benchmark",
            "legalBasis": "legitimate_interest",
            "start": "2020-01-01",
            "end": "2099-12-31",
            "ports": [{"port": f"{up_domain}.{up_name}.{up_name}"}],
        },
    )


def _write_product(
    root: Path, domain: str, name: str, inputs: list[tuple[str, str]], index: int
) -> None:
    folder = root / "domains" / domain / "products" / name
    folder.mkdir(parents=True)
    ports = [
        {
            "name": f"in_{up_name}",
            "version": "1.0.0",
            "contractId": f"{up_domain}.{up_name}.{up_name}",
        }
        for up_domain, up_name in inputs
    ] or [{"name": "events", "version": "1.0.0", "contractId": f"{domain}.raw.events"}]
    _dump(
        folder / "product.yaml",
        {
            "apiVersion": "v1.0.0",
            "kind": "DataProduct",
            "id": f"{domain}.{name}",
            "name": name,
            "status": "active",
            "domain": domain,
            "description": {"purpose": f"Synthetic product {index}."},
            "team": {
                "name": f"{domain}-team",
                "members": [{"username": f"owner@{domain}.example", "role": "owner"}],
            },
            "tags": ["synthetic"],
            "inputPorts": ports,
            "outputPorts": [
                {
                    "name": name,
                    "version": "1.0.0",
                    "type": "delta",
                    "contractId": f"{domain}.{name}.{name}",
                }
            ],
            "customProperties": [
                {"property": "tier", "value": "silver" if inputs else "bronze"},
                {"property": "transform", "value": "transform.sql"},
            ],
        },
    )
    first = ports[0]["name"]
    source_columns = [f"c{column}" for column in range(COLUMNS)]
    select = ",\n    ".join(
        f"{first}.{column} AS c{position}" for position, column in enumerate(source_columns)
    )
    if not inputs:
        select = ",\n    ".join(
            f"CAST({first}.c{position} AS STRING) AS c{position}" for position in range(COLUMNS)
        )
    join = ""
    if len(ports) > 1:
        join = f"\nJOIN {ports[1]['name']} ON {ports[1]['name']}.c0 = {first}.c0"
    (folder / "transform.sql").write_text(f"SELECT\n    {select}\nFROM {first}{join}\n")
    _dump(
        folder / "contract.yaml",
        {
            "apiVersion": "v3.1.0",
            "kind": "DataContract",
            "id": f"{domain}.{name}.{name}",
            "name": name,
            "version": "1.0.0",
            "status": "active",
            "domain": domain,
            "dataProduct": name,
            "schema": [
                {
                    "name": name,
                    "physicalType": "table",
                    "description": f"Synthetic table {index}.",
                    "properties": [
                        _column(f"c{position}", "string", "STRING", required=position == 0)
                        for position in range(COLUMNS)
                    ],
                }
            ],
            "slaProperties": [
                {"property": "latency", "value": 1, "unit": "d"},
                {"property": "retention", "value": 2, "unit": "y"},
            ],
        },
    )


def _column(name: str, logical: str, physical: str, *, required: bool) -> dict[str, object]:
    return {
        "name": name,
        "logicalType": logical,
        "physicalType": physical,
        "description": f"Column {name}.",
        "required": required,
        "classification": "internal",
    }


def _dump(file: Path, document: object) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(yaml.safe_dump(document, sort_keys=False))


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            *args,
        ],
        check=True,
        capture_output=True,
    )


if __name__ == "__main__":
    main()
