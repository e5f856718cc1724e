"""A simulated large mesh (issue 19, item 6): 1,000 products in 10 landing zones.

What it measures, on a synthetic mesh written to a temporary folder (``generate`` below; seeded, so
every run sees the same files), each against its target:

- ``meshlake validate`` as users run it: a subprocess, imports included (target <= 10 s);
- the Dagster definitions as ``meshlake ui`` loads them: one subprocess per zone, all at once, each
  importing ``meshlake.orchestration.locations`` and building its zone's code location (the figure
  is when the last one had built it; their exit is printed beside), then ``mesh_definitions`` (one
  set for ``meshlake run``) in one subprocess; each resolved to a repository so assets, checks and
  schedules are really built (target <= 15 s, the slower of the two);
- ``meshlake governance sync`` of the whole mesh into a fresh embedded governance (SQLite, real HTTP
  on 127.0.0.1), a subprocess as users run it (target <= 60 s);
- catalog search p99 over HTTP (``GET /api/v1/search``) with 1M datasets in the catalog: the rows
  of ``search_latency.py``'s synthetic catalog, bulk-inserted in chunks, indexed by the search
  migration in one statement; the query mix is search_latency's. The target is the one the
  project already uses for search: p99 <= 10 ms for ``search()`` on SQLite (search_latency.py);
  here the same bound is applied to the HTTP round trip, which is stricter.

The mesh: 10 data zones (plus the governance zone), 4 domains each, 25 products per domain. Each
product has 1-3 output ports with 5-30 typed columns, a SQL transform per port reading its input
ports (a DAG: bronze products read their domain's raw drop, later ones read 1-3 ports of earlier
products, a third of those in other domains, which then need a sharing agreement), contracts with
schema- and column-level quality rules, classifications (some personal and sensitive columns),
product schedules, and a glossary linking terms to columns.

Why: the README promises that the platform stays usable at the size of a real organisation.

    uv run python benchmarks/large_mesh.py [--products 1000] [--zones 10] [--datasets 1000000]
        [--skip search] [--keep]

Exits 0 even above a target (it is a measurement); each figure says PASS or FAIL, and the last
line says PASS only if all did.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TARGET_VALIDATE_S = 10.0
TARGET_DEFINITIONS_S = 15.0
TARGET_SYNC_S = 60.0
TARGET_SEARCH_P99_MS = 10.0  # search_latency.py's target for search() on SQLite
BOOTSTRAP = "mlk_bootstrap-token-for-the-large-mesh-benchmark"
REPO = Path(__file__).resolve().parent.parent

# name -> (logical type, physical type, classification): one type per name across the mesh, so a
# column keeps its type through the DAG as it would under a naming convention.
VOCABULARY: dict[str, tuple[str, str, str]] = {
    "record_id": ("string", "STRING", "internal"),
    "customer_id": ("string", "STRING", "internal"),
    "order_id": ("string", "STRING", "internal"),
    "account_id": ("string", "STRING", "internal"),
    "product_code": ("string", "STRING", "public"),
    "region": ("string", "STRING", "public"),
    "country": ("string", "STRING", "public"),
    "city": ("string", "STRING", "public"),
    "currency": ("string", "STRING", "public"),
    "status": ("string", "STRING", "internal"),
    "channel": ("string", "STRING", "internal"),
    "segment": ("string", "STRING", "internal"),
    "category": ("string", "STRING", "public"),
    "source_system": ("string", "STRING", "internal"),
    "full_name": ("string", "STRING", "personal"),
    "email": ("string", "STRING", "personal"),
    "phone": ("string", "STRING", "personal"),
    "birth_date": ("date", "DATE", "sensitive"),
    "salary": ("number", "DOUBLE", "sensitive"),
    "amount": ("number", "DOUBLE", "internal"),
    "net_amount": ("number", "DOUBLE", "internal"),
    "gross_amount": ("number", "DOUBLE", "internal"),
    "tax_amount": ("number", "DOUBLE", "internal"),
    "discount": ("number", "DOUBLE", "confidential"),
    "price": ("number", "DOUBLE", "public"),
    "margin": ("number", "DOUBLE", "confidential"),
    "score": ("number", "DOUBLE", "internal"),
    "weight_kg": ("number", "DOUBLE", "public"),
    "quantity": ("integer", "BIGINT", "internal"),
    "line_count": ("integer", "BIGINT", "internal"),
    "visit_count": ("integer", "BIGINT", "internal"),
    "rank": ("integer", "BIGINT", "internal"),
    "created_date": ("date", "DATE", "internal"),
    "updated_date": ("date", "DATE", "internal"),
    "valid_from": ("date", "DATE", "internal"),
    "valid_to": ("date", "DATE", "internal"),
    "is_active": ("boolean", "BOOLEAN", "internal"),
    "is_deleted": ("boolean", "BOOLEAN", "internal"),
    "is_test": ("boolean", "BOOLEAN", "internal"),
    "latitude": ("number", "DOUBLE", "public"),
}
KEY = "record_id"
VALID_VALUES = {
    "status": ["open", "closed", "cancelled"],
    "channel": ["web", "store", "partner"],
    "currency": ["EUR", "USD", "GBP"],
}


def _words(line: str) -> list[str]:
    return line.split()


REGIONS = ("westeurope",)  # one region: cross-region residency is the regional topology's subject
DOMAIN_WORDS = _words(
    "sales finance hr marketing logistics procurement supply manufacturing quality service legal "
    "risk treasury payroll recruiting facilities security pricing ecommerce retail wholesale "
    "inventory fleet energy maintenance health billing claims underwriting actuarial fraud audit "
    "tax investor research support operations partners stores web"
)
ENTITY_WORDS = _words(
    "orders customers invoices payments accounts shipments suppliers contracts claims assets "
    "readings ledger budget campaigns leads tickets incidents stock prices refunds sessions events "
    "devices routes deliveries visits premiums reserves surveys scores"
)


@dataclass
class Port:
    ref: str  # domain.product.port
    columns: list[str]


@dataclass
class Summary:
    zones: int = 0
    domains: int = 0
    products: int = 0
    ports: int = 0
    columns: int = 0
    agreements: int = 0
    terms: int = 0
    schedules: int = 0
    files: int = 0
    ports_by_ref: dict[str, Port] = field(default_factory=dict)


def generate(root: Path, products: int = 1000, zones: int = 10, seed: int = 19) -> Summary:
    """Write a mesh of ``products`` products in ``zones`` data zones under ``root``; 4 domains per
    zone. Deterministic for a seed."""
    rng = random.Random(seed)
    summary = Summary(zones=zones)
    writer = _Writer(root, summary)
    zone_names = [f"zone_{index:02d}" for index in range(zones)]
    domains = [
        f"{DOMAIN_WORDS[index % len(DOMAIN_WORDS)]}_{index:02d}" for index in range(zones * 4)
    ]
    summary.domains = len(domains)
    writer.dump(
        "infra/landing-zones/governance.yaml",
        {
            "name": "governance",
            "kind": "governance",
            "region": REGIONS[0],
            "description": "Central governance zone of the large synthetic mesh.",
            "storageRoot": "lake/governance",
        },
    )
    for index, zone in enumerate(zone_names):
        writer.dump(
            f"infra/landing-zones/{zone}.yaml",
            {
                "name": zone,
                "kind": "data",
                "region": REGIONS[index % len(REGIONS)],
                "description": f"Synthetic data landing zone {index}.",
                "storageRoot": f"lake/{zone}",
                "domains": domains[index * 4 : index * 4 + 4],
            },
        )
    raw_columns = list(VOCABULARY)
    for index, domain in enumerate(domains):
        writer.dump(
            f"domains/{domain}/domain.yaml",
            {
                "name": domain,
                "description": f"Synthetic domain {domain}.",
                "landingZone": zone_names[index // 4],
                "team": _team(domain),
                "rawSources": [
                    {
                        "id": f"{domain}.raw.events",
                        "name": "events",
                        "version": "1.0.0",
                        "format": "csv",
                        "schema": ", ".join(f"{name} STRING" for name in raw_columns),
                    }
                ],
            },
        )
    built: list[Port] = []
    by_domain: dict[str, list[Port]] = {domain: [] for domain in domains}
    for index in range(products):
        domain = domains[index % len(domains)]
        product = f"{ENTITY_WORDS[index % len(ENTITY_WORDS)]}_{index:04d}"
        own = by_domain[domain]
        inputs: list[Port] = []
        if own and rng.random() >= 0.1:  # a tenth of the products are bronze
            wanted = rng.randint(1, 3)
            pool_own = own[-30:]
            pool_other = built[-400:]
            while len(inputs) < wanted:
                pool = pool_other if rng.random() < 0.33 else pool_own
                chosen = rng.choice(pool)
                if all(port.ref != chosen.ref for port in inputs):
                    inputs.append(chosen)
                elif len(pool) <= len(inputs):
                    break
        ports = _write_product(writer, rng, domain, product, inputs, raw_columns, index)
        for port in ports:
            summary.ports_by_ref[port.ref] = port
        built.extend(ports)
        own.extend(ports)
    _write_glossary(writer, rng, built)
    summary.products = products
    summary.ports = len(built)
    summary.columns = sum(len(port.columns) for port in built)
    return summary


class _Writer:
    def __init__(self, root: Path, summary: Summary) -> None:
        self.root = root
        self.summary = summary

    def dump(self, relative: str, document: object) -> None:
        self.text(relative, yaml.safe_dump(document, sort_keys=False, width=100))

    def text(self, relative: str, content: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        self.summary.files += 1


def _owner(domain: str) -> str:
    return f"{domain.replace('_', '.')}.owner@example.com"


def _team(domain: str) -> dict[str, Any]:
    return {
        "name": f"{domain}-team",
        "members": [{"username": _owner(domain), "role": "owner"}],
    }


def _write_product(
    writer: _Writer,
    rng: random.Random,
    domain: str,
    product: str,
    inputs: list[Port],
    raw_columns: list[str],
    index: int,
) -> list[Port]:
    base = f"domains/{domain}/products/{product}"
    input_ports = [
        {"name": _alias(port), "version": "1.0.0", "contractId": port.ref} for port in inputs
    ] or [{"name": "events", "version": "1.0.0", "contractId": f"{domain}.raw.events"}]
    available: dict[str, str] = {}  # column -> the input port alias that has it (first wins)
    if inputs:
        for port in inputs:
            for column in port.columns:
                available.setdefault(column, _alias(port))
    else:
        available = dict.fromkeys(raw_columns, "events")
    port_count = rng.choices([1, 2, 3], [60, 30, 10])[0]
    suffixes = ("daily", "summary")[: port_count - 1]
    port_names = [product, *(f"{product}_{suffix}" for suffix in suffixes)]
    output_ports: list[dict[str, Any]] = []
    ports: list[Port] = []
    others = [column for column in available if column != KEY]
    for position, port_name in enumerate(port_names):
        count = min(len(others), rng.randint(4, 29))
        columns = [KEY, *rng.sample(others, count)]
        transform = "transform.sql" if position == 0 else f"{port_name}.sql"
        writer.text(f"{base}/{transform}", _sql(columns, available, input_ports, bool(inputs)))
        contract_id = f"{domain}.{product}.{port_name}"
        entry: dict[str, Any] = {
            "name": port_name,
            "version": "1.0.0",
            "type": "delta",
            "contractId": contract_id,
        }
        if position:
            entry["customProperties"] = [{"property": "transform", "value": transform}]
        output_ports.append(entry)
        contract_path = (
            f"{base}/contract.yaml" if port_count == 1 else f"{base}/contracts/{port_name}.yaml"
        )
        writer.dump(contract_path, _contract(rng, domain, product, port_name, columns, index))
        ports.append(Port(contract_id, columns))
    properties = [
        {"property": "tier", "value": "silver" if inputs else "bronze"},
        {"property": "transform", "value": "transform.sql"},
    ]
    if rng.random() < 0.2:
        properties.append({"property": "schedule", "value": f"{rng.randint(0, 59)} * * * *"})
        writer.summary.schedules += 1
    writer.dump(
        f"{base}/product.yaml",
        {
            "apiVersion": "v1.0.0",
            "kind": "DataProduct",
            "id": f"{domain}.{product}",
            "name": product,
            "version": "1.0.0",
            "status": "active",
            "domain": domain,
            "description": {"purpose": f"Synthetic product {index} of the {domain} domain."},
            "team": _team(domain),
            "tags": ["synthetic", rng.choice(["finance", "ops", "customer", "ml-features"])],
            "inputPorts": input_ports,
            "outputPorts": output_ports,
            "customProperties": properties,
        },
    )
    for position, port in enumerate(inputs):
        provider, upstream, _ = port.ref.split(".")
        if provider != domain:  # a read across domains only under a sharing agreement
            slug = f"{product}-reads-{upstream}-{position}".replace("_", "-")
            writer.dump(
                f"domains/{domain}/agreements/{slug}.yaml",
                {
                    "apiVersion": "meshlake/v1",
                    "kind": "SharingAgreement",
                    "name": slug,
                    "consumer": {"kind": "product", "id": f"{domain}.{product}"},
                    "purpose": "analytics",
                    "legalBasis": "legitimate_interest",
                    "start": "2026-01-01",
                    "end": "2099-12-31",
                    "ports": [{"port": port.ref}],
                    "approvedBy": _owner(provider),
                },
            )
            writer.summary.agreements += 1
    return ports


def _alias(port: Port) -> str:
    _, product, name = port.ref.split(".")
    return name if name.startswith(product) else f"{product}_{name}"


def _sql(
    columns: list[str], available: dict[str, str], inputs: list[dict[str, str]], typed: bool
) -> str:
    def expression(column: str) -> str:
        source = f"{available[column]}.{column}"
        if typed:
            return f"{source} AS {column}"
        return f"CAST({source} AS {VOCABULARY[column][1]}) AS {column}"

    first = inputs[0]["name"]
    select = ",\n    ".join(expression(column) for column in columns)
    joins = "".join(
        f"\nLEFT JOIN {port['name']} ON {port['name']}.{KEY} = {first}.{KEY}" for port in inputs[1:]
    )
    return f"SELECT\n    {select}\nFROM {first}{joins}\n"


def _contract(
    rng: random.Random, domain: str, product: str, port: str, columns: list[str], index: int
) -> dict[str, Any]:
    properties = []
    for column in columns:
        logical, physical, classification = VOCABULARY[column]
        prop: dict[str, Any] = {
            "name": column,
            "logicalType": logical,
            "physicalType": physical,
            "description": f"The {column.replace('_', ' ')} of the record.",
            "required": column == KEY,
            "classification": classification,
        }
        if column == KEY:
            prop.update({"unique": True, "primaryKey": True, "primaryKeyPosition": 1})
        if column in VALID_VALUES and rng.random() < 0.5:
            prop["quality"] = [
                {
                    "metric": "invalidValues",
                    "arguments": {"validValues": VALID_VALUES[column]},
                    "mustBe": 0,
                }
            ]
        elif logical == "number" and rng.random() < 0.3:
            prop["logicalTypeOptions"] = {"minimum": 0}
        properties.append(prop)
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": f"{domain}.{product}.{port}",
        "name": port,
        "version": "1.0.0",
        "status": "active",
        "domain": domain,
        "dataProduct": product,
        "description": {"purpose": f"Port {port} of synthetic product {index}."},
        "schema": [
            {
                "name": port,
                "physicalName": port,
                "physicalType": "table",
                "description": "One row per record.",
                "properties": properties,
                "quality": [{"metric": "rowCount", "mustBeGreaterThan": 0}],
            }
        ],
        "slaProperties": [
            {"property": "latency", "value": rng.choice([1, 2, 7]), "unit": "d"},
            {"property": "retention", "value": rng.choice([1, 2, 5]), "unit": "y"},
        ],
    }


def _write_glossary(writer: _Writer, rng: random.Random, ports: list[Port]) -> None:
    """One term per vocabulary word that some port has, linked to up to 12 of its columns."""
    holders: dict[str, list[str]] = {}
    for port in ports:
        for column in port.columns:
            holders.setdefault(column, []).append(f"{port.ref}.{column}")
    terms = []
    for name, refs in sorted(holders.items()):
        terms.append(
            {
                "name": name.replace("_", " ").capitalize(),
                "definition": f"The {name.replace('_', ' ')} of a record, as the mesh names it.",
                "columns": sorted(rng.sample(refs, min(12, len(refs)))),
            }
        )
    writer.dump("infra/landing-zones/governance/glossary.yaml", {"terms": terms})
    writer.summary.terms = len(terms)


# -- measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: float
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.value <= self.target

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        detail = f" ({self.detail})" if self.detail else ""
        return (
            f"{verdict}: {self.name} {self.value:.2f} {self.unit}"
            f" (target <= {self.target:g} {self.unit}){detail}"
        )


def _environment(project: Path, home: Path) -> dict[str, str]:
    """The user's environment for a project, without a governance service configured: the
    embedded default then serves, as it does for a user who set nothing."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MESHLAKE_")}
    env.update({"MESHLAKE_PROJECT": str(project), "MESHLAKE_HOME": str(home)})
    return env


def _meshlake() -> str:
    found = shutil.which("meshlake", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit("the meshlake command is not installed in this environment; run `uv sync`")
    return found


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return seconds, done.stdout.strip()


def measure_validate(project: Path, home: Path) -> Figure:
    seconds, output = _timed([_meshlake(), "validate"], _environment(project, home), project)
    return Figure("meshlake validate", seconds, "s", TARGET_VALIDATE_S, " ".join(output.split()))


# One process per code location, as `dagster dev` starts them: each imports its zone's Definitions
# and builds the repository (assets, checks, schedules are resolved then).
LOAD_LOCATION = """
import sys, time
began = time.perf_counter()
import meshlake.orchestration.locations as locations
definitions = getattr(locations, sys.argv[1])
repository = definitions.get_repository_def()
print(len(repository.asset_graph.get_all_asset_keys()), len(repository.schedule_defs),
      f"{time.perf_counter() - began:.2f}", f"{time.time():.3f}", flush=True)
"""
LOAD_MESH = """
import time
began = time.perf_counter()
from meshlake.orchestration import mesh_definitions
from meshlake.platform import Settings
repository = mesh_definitions(Settings()).get_repository_def()
print(len(repository.asset_graph.get_all_asset_keys()), len(repository.schedule_defs),
      f"{time.perf_counter() - began:.2f}")
"""


def measure_definitions(project: Path, home: Path, zones: int) -> list[Figure]:
    env = _environment(project, home)
    seconds, output = _timed([sys.executable, "-c", LOAD_MESH], env, project)
    assets, schedules, _ = output.split()
    figures = [
        Figure(
            "Dagster definitions, mesh_definitions in one process (meshlake run)",
            seconds,
            "s",
            TARGET_DEFINITIONS_S,
            f"{assets} assets, {schedules} schedules",
        )
    ]
    names = [f"zone_{index:02d}" for index in range(zones)]
    began, began_at = time.perf_counter(), time.time()
    running = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD_LOCATION, name],
            env=env,
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    total_assets = 0
    slowest = 0.0
    last_loaded = 0.0
    for process in running:
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"a code location failed to load:\n{err}")
        assets, _, took, loaded_at = out.split()
        total_assets += int(assets)
        slowest = max(slowest, float(took))
        last_loaded = max(last_loaded, float(loaded_at))
    exited = time.perf_counter() - began
    # Loaded is when the last process had built its repository: a code server then serves it.
    # The processes' exit comes after (an interpreter tearing down the loaded mesh takes about
    # 1.5 s of CPU each), which a code server never does; it is printed beside.
    figures.append(
        Figure(
            f"Dagster definitions, {zones} code locations in parallel processes (meshlake ui)",
            last_loaded - began_at,
            "s",
            TARGET_DEFINITIONS_S,
            f"{total_assets} assets in all; slowest location {slowest:.1f} s in its process; "
            f"all {zones} processes exited after {exited:.1f} s",
        )
    )
    return figures


def measure_sync(project: Path, home: Path) -> Figure:
    seconds, output = _timed(
        [_meshlake(), "governance", "sync"], _environment(project, home), project
    )
    said = " ".join(output.split()).split(" in the catalog")[0]
    return Figure(
        "meshlake governance sync (embedded, SQLite, HTTP)", seconds, "s", TARGET_SYNC_S, said
    )


def measure_search(scratch: Path, datasets: int, queries: int, repeat: int) -> Figure:
    """Load ``datasets`` catalog datasets in chunks, then time the search API over HTTP."""
    import httpx

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import search_latency

    from meshlake.governance import GovernanceSettings, create_app, serve_in_thread, upgrade

    url = f"sqlite:///{scratch / 'search.db'}"
    began = time.perf_counter()
    upgrade(url, "0001")
    engine = search_latency.make_engine(url)
    first_rows: list[dict[str, Any]] = []
    chunk = 100_000
    try:
        for number, start in enumerate(range(0, datasets, chunk)):
            rows = search_latency.catalog(
                min(chunk, datasets - start), random.Random(20261122 + number)
            )
            for row in rows:  # the chunks' made-up product names repeat: keep refs unique
                domain, product, *rest = row["ref"].split(".")
                row["ref"] = ".".join([domain, f"{product}x{number}", *rest])
                if row["kind"] == "product":
                    row["name"] = f"{product}x{number}"
            if not first_rows:
                first_rows = rows
            with search_latency.Session(engine) as session, session.begin():
                for offset in range(0, len(rows), 5000):
                    session.execute(
                        search_latency.insert(search_latency.SearchDocument),
                        rows[offset : offset + 5000],
                    )
    finally:
        engine.dispose()
    inserted = time.perf_counter() - began
    began = time.perf_counter()
    upgrade(url)  # the search migration indexes the whole catalog in one statement
    indexed = time.perf_counter() - began
    print(
        f"  catalog: {datasets} datasets inserted in {inserted:.0f} s, indexed in {indexed:.0f} s"
    )
    mix = search_latency.query_mix(first_rows, random.Random(7), queries)
    app = create_app(GovernanceSettings(database_url=url, bootstrap_token=BOOTSTRAP))
    server = serve_in_thread(app)
    timings: list[float] = []
    direct: list[float] = []
    by_label = search_latency.Timings.empty()
    try:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {BOOTSTRAP}"}, timeout=60
        ) as client:

            def ask(query: search_latency.Query) -> float:
                params = {"q": query.text, "limit": search_latency.PAGE, **query.filters}
                began = time.perf_counter()
                response = client.get("/api/v1/search", params=params)
                took = (time.perf_counter() - began) * 1000
                response.raise_for_status()
                return took

            for query in mix[:40]:  # warm the page cache, the statement cache, the connection
                ask(query)
            for query in mix:
                took = statistics.median(ask(query) for _ in range(repeat))
                timings.append(took)
                by_label.add(query.label, took)
        # The same queries through search() in process: what HTTP adds to the service's part.
        with search_latency.Session(app.state.engine) as session:
            for query in mix:
                runs = []
                for _ in range(repeat):
                    began = time.perf_counter()
                    search_latency.search(
                        session, query.text, limit=search_latency.PAGE, **query.filters
                    )
                    runs.append((time.perf_counter() - began) * 1000)
                direct.append(statistics.median(runs))
    finally:
        server.stop()
        app.state.engine.dispose()
    for label, values in sorted(by_label.by_label.items()):
        print(
            f"  {label:<12} n={len(values):<4} HTTP p50 {statistics.median(values):6.2f}"
            f" / p99 {search_latency.percentile(values, 0.99):6.2f} ms"
        )
    print(
        f"  search() in process: p50 {statistics.median(direct):.2f}"
        f" / p99 {search_latency.percentile(direct, 0.99):.2f} ms"
    )
    p99 = search_latency.percentile(timings, 0.99)
    return Figure(
        f"search API p99 over HTTP, {datasets} datasets (SQLite)",
        p99,
        "ms",
        TARGET_SEARCH_P99_MS,
        f"p50 {statistics.median(timings):.2f} ms over {len(mix)} queries, median of {repeat}",
    )


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--zones", type=int, default=10)
    parser.add_argument("--datasets", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--skip", action="append", default=[], choices=["validate", "definitions", "sync", "search"]
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="meshlake-large-mesh-"))
    project, home = scratch / "mesh", scratch / "home"
    figures: list[Figure] = []
    try:
        began = time.perf_counter()
        summary = generate(project, args.products, args.zones)
        print(
            f"mesh: {summary.products} products, {summary.ports} output ports, {summary.columns}"
            f" columns, {summary.domains} domains in {summary.zones} zones,"
            f" {summary.agreements} agreements, {summary.terms} glossary terms,"
            f" {summary.schedules} schedules; {summary.files} files written in"
            f" {time.perf_counter() - began:.1f} s"
        )
        steps = [
            ("validate", lambda: [measure_validate(project, home)]),
            ("definitions", lambda: measure_definitions(project, home, args.zones)),
            ("sync", lambda: [measure_sync(project, home)]),
            ("search", lambda: [measure_search(scratch, args.datasets, args.queries, args.repeat)]),
        ]
        for name, step in steps:
            if name in args.skip:
                print(f"{name}: skipped")
                continue
            before = _load()
            for figure in step():
                figures.append(figure)
                print(f"{figure.line()}; {before} before, {_load()} after")
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    failed = [figure.name for figure in figures if not figure.passed]
    verdict = "FAIL" if failed else "PASS"
    print(f"{verdict}: {len(figures) - len(failed)} of {len(figures)} figures within target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
