"""Catalog search latency: ``search()`` against a naive FTS5 bm25 query on a 100k-dataset catalog.

What it measures: p50 and p99 of ``meshlake.governance.services._search.search`` (in process, one
session, as the API calls it) over a realistic query mix: exact names, type-ahead prefixes, common
words, rare words, multi-word queries and a few filtered ones. The baseline, in the same run and on
the same data, is the naive query FACTS.md measured: an FTS5 table with default options over
name/description/body and ``... MATCH ? ORDER BY rank LIMIT 20``, which ranks every match with
bm25 before the LIMIT (p99 about 45 ms on 100k entries).

The catalog is synthetic and deterministic (seeded): 100k dataset documents and their ~20k
products, words drawn with a Zipf law (common words such as "date" or "amount" match most
documents, as column names do in a real catalog; rare words match a handful), column names and
descriptions in each dataset's body, as ``reindex_product`` writes them. Rows go straight into
``search_documents`` through SQLAlchemy in bulk, in a fresh SQLite database under a temporary
folder, migrated with ``meshlake.governance.upgrade``: to revision 0001 before the rows, to head
after them (the search migration indexes a catalog that predates it in one statement, several
times faster than its triggers do row by row).

Each query runs ``--repeat`` times, interleaved with the baseline, and counts its median: the
machine is shared, and a single run measures the neighbours as much as the query.

Why: the catalog search API promises type-ahead speed; the target is p99 <= 10 ms for search()
on SQLite. If MESHLAKE_TEST_POSTGRES_URL is set, the same catalog is loaded into a scratch
PostgreSQL database and measured too (no target there; the naive baseline there is ts_rank_cd over
every match).

    uv run python benchmarks/search_latency.py [--datasets 100000] [--queries 300] [--repeat 3]

Exits 0 even above the target (it is a measurement); the last line says PASS or FAIL.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from meshlake.governance import upgrade
from meshlake.governance.db._engine import make_engine
from meshlake.governance.db._tables import SearchDocument
from meshlake.governance.services._search import search

TARGET_P99_MS = 10.0
PAGE = 20


def _words(line: str) -> list[str]:
    return line.split()


DOMAINS = _words(
    "sales hr finance marketing operations logistics procurement supply manufacturing quality "
    "customer_service legal risk compliance treasury payroll recruiting facilities it security "
    "product engineering research pricing ecommerce retail wholesale inventory fleet energy "
    "maintenance health safety billing claims underwriting actuarial fraud audit tax investor"
)

ENTITIES = _words(
    "customer customers order orders invoice invoices payment payments employee employees account "
    "accounts product products shipment shipments supplier suppliers contract contracts claim "
    "claims policy policies asset assets vehicle vehicles pump pumps sensor sensors reading "
    "readings transaction transactions ledger budget forecast campaign campaigns lead leads "
    "opportunity opportunities ticket tickets incident incidents store stores warehouse "
    "warehouses stock sku price prices discount discounts refund refunds return returns "
    "subscription subscriptions session sessions click clicks event events user users device "
    "devices site sites region regions country countries currency rates exchange cost costs "
    "revenue margin headcount attrition salary salaries bonus timesheet absence training "
    "candidate candidates vacancy vacancies review reviews survey surveys score scores churn "
    "segment segments cohort cohorts channel channels partner partners vendor vendors part parts "
    "machine machines batch batches defect defects inspection inspections well wells meter "
    "meters tariff tariffs outage outages route routes delivery deliveries trip trips driver "
    "drivers patient patients visit visits premium premiums loss losses reserve reserves"
)

QUALIFIERS = _words(
    "daily weekly monthly snapshot history current features summary facts dim raw clean "
    "conformed agg enriched scored latest events log metrics kpis register master staging"
)

COLUMNS = _words(
    "id date name amount status created_at updated_at type code description email phone "
    "country city region currency quantity price total net_amount gross_amount discount "
    "tax_amount start_date end_date valid_from valid_to is_active is_deleted owner source "
    "category segment channel score rank flag count value unit weight height width length "
    "latitude longitude timestamp event_ts ingestion_ts version batch_id run_id record_hash"
)

COMMON_WORDS = _words(
    "the of and in for per with from by on to a as or is at each one when after before all "
    "data record records value values table daily latest number identifier stable "
    "source system date time day total net gross empty current first last"
)


def _pseudo_words(rng: random.Random, count: int) -> list[str]:
    """Made-up words for the long tail: rare terms that match a handful of documents."""
    syllables = _words(
        "ka lo mi ne ru sa te vo zi ba de fu go hi ja ke li mo nu pa qui ro su ti ve wa xo yu ze"
    )
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


@dataclass(frozen=True)
class Vocabulary:
    words: list[str]
    cumulative: list[float]

    @classmethod
    def build(cls, rng: random.Random) -> Vocabulary:
        words = COMMON_WORDS + ENTITIES + _pseudo_words(rng, 30_000)
        weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(words))]
        total = 0.0
        cumulative = []
        for weight in weights:
            total += weight
            cumulative.append(total)
        return cls(words, cumulative)

    def sentence(self, rng: random.Random, low: int, high: int) -> str:
        count = rng.randint(low, high)
        return " ".join(rng.choices(self.words, cum_weights=self.cumulative, k=count)) + "."


def catalog(datasets: int, rng: random.Random) -> list[dict[str, Any]]:
    """Rows for search_documents: products of 1-9 datasets, each dataset's columns in its body."""
    vocabulary = Vocabulary.build(rng)
    classifications = ["public", "internal", "confidential", "personal", "sensitive"]
    class_weights = [10, 50, 15, 15, 10]
    tags = [f"tag{index}" for index in range(40)] + ["pii", "gold", "ml-features", "finance"]
    rows: list[dict[str, Any]] = []
    made = 0
    product_index = 0
    while made < datasets:
        product_index += 1
        domain = rng.choice(DOMAINS)
        owner = f"{domain}-{rng.choice(['data', 'analytics', 'platform'])}"
        product = f"{rng.choice(ENTITIES)}_{product_index}"
        product_tags = rng.sample(tags, rng.randint(1, 4))
        ports = min(rng.randint(1, 9), datasets - made)
        port_names: set[str] = set()
        while len(port_names) < ports:
            words = [rng.choice(ENTITIES)]
            if rng.random() < 0.6:
                words.append(rng.choice(QUALIFIERS))
            if rng.random() < 0.2:
                words.insert(0, rng.choice(ENTITIES))
            port_names.add("_".join(words))
        column_names: list[str] = []
        for port in sorted(port_names):
            columns = rng.sample(COLUMNS, rng.randint(4, 12))
            columns.append(f"{rng.choice(ENTITIES)}_{rng.choice(['id', 'name', 'date'])}")
            column_names.extend(columns)
            described = [
                f"{column} {vocabulary.sentence(rng, 2, 6)}" if rng.random() < 0.6 else column
                for column in columns
            ]
            rows.append(
                {
                    "kind": "dataset",
                    "ref": f"{domain}.{product}.{port}",
                    "name": port,
                    "domain": domain,
                    "owner": owner,
                    "classification": rng.choices(classifications, class_weights)[0],
                    "tags": product_tags,
                    "description": vocabulary.sentence(rng, 4, 14),
                    "body": " ".join([*described, *product_tags]),
                }
            )
            made += 1
        rows.append(
            {
                "kind": "product",
                "ref": f"{domain}.{product}",
                "name": product,
                "domain": domain,
                "owner": owner,
                "classification": rng.choices(classifications, class_weights)[0],
                "tags": product_tags,
                "description": vocabulary.sentence(rng, 8, 20),
                "body": " ".join([*column_names[:40], *product_tags]),
            }
        )
    return rows


def load(url: str, rows: list[dict[str, Any]]) -> dict[str, float]:
    """Insert ``rows`` in bulk into a fresh database, then migrate it to the search index.

    The rows go in at revision 0001 and the search migration indexes them all at once (its
    path for a catalog that predates it), which is several times faster than row by row.
    """
    upgrade(url, "0001")
    engine = make_engine(url)
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    try:
        with Session(engine) as session, session.begin():
            for start in range(0, len(rows), 5000):
                session.execute(insert(SearchDocument), rows[start : start + 5000])
        seconds["rows"] = time.perf_counter() - began
        began = time.perf_counter()
        upgrade(url)
        seconds["search index"] = time.perf_counter() - began
        began = time.perf_counter()
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                # The baseline as FACTS.md measured it: default FTS5 options, bm25 over all.
                connection.exec_driver_sql(
                    "CREATE VIRTUAL TABLE naive_fts USING fts5(name, description, body,"
                    " content='search_documents', content_rowid='id')"
                )
                connection.exec_driver_sql("INSERT INTO naive_fts(naive_fts) VALUES ('rebuild')")
            connection.exec_driver_sql("ANALYZE")
        seconds["baseline index, ANALYZE"] = time.perf_counter() - began
    finally:
        engine.dispose()
    return seconds


# -- the query mix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    label: str
    text: str
    filters: dict[str, str]


def query_mix(rows: list[dict[str, Any]], rng: random.Random, count: int) -> list[Query]:
    """Exact names, prefixes, common and rare words, several words, some with filters."""
    names = sorted({row["name"] for row in rows})
    rare_words = sorted(
        {
            word
            for row in rows[:3000]
            for word in re.findall(r"[a-z]+", row["description"])
            if len(word) >= 8
        }
    )
    common = ["date", "id", "amount", "status", "customer", "daily", "total", "name", "value"]
    makers: list[tuple[int, Callable[[], Query]]] = [
        (20, lambda: Query("exact name", rng.choice(names), {})),
        (20, lambda: Query("prefix", _prefix(rng.choice(ENTITIES), rng), {})),
        (15, lambda: Query("common word", rng.choice(common), {})),
        (20, lambda: Query("rare word", rng.choice(rare_words), {})),
        (
            15,
            lambda: Query(
                "multi-word",
                f"{rng.choice(ENTITIES)} {rng.choice(QUALIFIERS + COLUMNS)}",
                {},
            ),
        ),
        (
            10,
            lambda: Query(
                "filtered",
                rng.choice([*common, *ENTITIES]),
                rng.choice(
                    [
                        {"domain": rng.choice(DOMAINS)},
                        {"type": "product"},
                        {"classification": "sensitive", "tag": "pii"},
                    ]
                ),
            ),
        ),
    ]
    weights = [weight for weight, _ in makers]
    return [rng.choices(makers, weights)[0][1]() for _ in range(count)]


def _prefix(word: str, rng: random.Random) -> str:
    return word[: rng.randint(2, max(2, min(6, len(word) - 1)))]


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Timings:
    by_label: dict[str, list[float]]

    @classmethod
    def empty(cls) -> Timings:
        return cls({})

    def add(self, label: str, milliseconds: float) -> None:
        self.by_label.setdefault(label, []).append(milliseconds)

    def all(self) -> list[float]:
        return [value for values in self.by_label.values() for value in values]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def words(text_: str) -> list[str]:
    return [word.lower() for word in re.findall(r"[^\W_]+", text_)]


def naive_sqlite(session: Session, query: Query) -> None:
    """FACTS.md's query: bm25 over every match, then LIMIT (filters as plain SQL)."""
    terms = [f'"{word}"' for word in words(query.text)]
    terms[-1] += " *"
    conditions = "".join(
        f" AND d.{'kind' if key == 'type' else key} = :{key}"
        for key in query.filters
        if key != "tag"
    )
    if "tag" in query.filters:
        conditions += " AND EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value = :tag)"
    session.execute(
        text(
            "SELECT d.id, d.ref, d.name FROM naive_fts JOIN search_documents d"
            f" ON d.id = naive_fts.rowid WHERE naive_fts MATCH :expression{conditions}"
            " ORDER BY rank LIMIT 20"
        ),
        {"expression": " AND ".join(terms), **query.filters},
    ).all()


def naive_postgresql(session: Session, query: Query) -> None:
    """The same on PostgreSQL: ts_rank_cd over every match, then LIMIT."""
    terms = [f"'{word}'" for word in words(query.text)]
    terms[-1] += ":*"
    conditions = "".join(
        f" AND {'kind' if key == 'type' else key} = :{key}" for key in query.filters if key != "tag"
    )
    if "tag" in query.filters:
        conditions += " AND tags::jsonb @> jsonb_build_array(CAST(:tag AS text))"
    session.execute(
        text(
            "SELECT id, ref, name FROM search_documents,"
            " to_tsquery('simple', :expression) AS query"
            f" WHERE search_vector @@ query{conditions}"
            " ORDER BY ts_rank_cd(search_vector, query, 1) DESC LIMIT 20"
        ),
        {"expression": " & ".join(terms), **query.filters},
    ).all()


def measure(
    url: str, queries: list[Query], naive: Callable[[Session, Query], None], repeat: int
) -> tuple[Timings, Timings, dict[str, int]]:
    """Each query through search() and naively, interleaved so noise hits both; medians."""
    engine = make_engine(url)
    mine, baseline = Timings.empty(), Timings.empty()
    orders: dict[str, int] = {}
    try:
        with Session(engine) as session:
            for query in queries[:40]:  # warm the caches and the statement cache
                search(session, query.text, limit=PAGE, **query.filters)
                naive(session, query)
            for query in queries:
                ours, theirs = [], []
                for _ in range(repeat):
                    began = time.perf_counter()
                    page = search(session, query.text, limit=PAGE, **query.filters)
                    ours.append((time.perf_counter() - began) * 1000)
                    began = time.perf_counter()
                    naive(session, query)
                    theirs.append((time.perf_counter() - began) * 1000)
                mine.add(query.label, statistics.median(ours))
                baseline.add(query.label, statistics.median(theirs))
                orders[page.order] = orders.get(page.order, 0) + 1
    finally:
        engine.dispose()
    return mine, baseline, orders


def report(database: str, mine: Timings, baseline: Timings, orders: dict[str, int]) -> float:
    print(f"\n{database}: milliseconds per query (p50 / p99), search() vs naive")
    for label in sorted(mine.by_label):
        values, naive = mine.by_label[label], baseline.by_label[label]
        print(
            f"  {label:<12} n={len(values):<4} search {statistics.median(values):6.2f} /"
            f" {percentile(values, 0.99):6.2f}   naive {statistics.median(naive):7.2f} /"
            f" {percentile(naive, 0.99):7.2f}"
        )
    ours, naive = mine.all(), baseline.all()
    p99, naive_p99 = percentile(ours, 0.99), percentile(naive, 0.99)
    print(
        f"  {'all':<12} n={len(ours):<4} search {statistics.median(ours):6.2f} / {p99:6.2f}"
        f"   naive {statistics.median(naive):7.2f} / {naive_p99:7.2f}"
        f"   naive/search p50 {statistics.median(naive) / statistics.median(ours):.1f}x,"
        f" p99 {naive_p99 / p99:.1f}x"
    )
    print(f"  orders: {orders}")
    return p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100_000, help="default 100k")
    parser.add_argument("--queries", type=int, default=300, help="timed queries (default 300)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per query (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args()
    began = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="meshlake-search-bench-"))
    try:
        rows = catalog(args.datasets, random.Random(20261122))
        queries = query_mix(rows, random.Random(7), args.queries)
        print(
            f"catalog: {len(rows)} documents ({args.datasets} datasets), {len(queries)} queries;"
            f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        url = f"sqlite:///{scratch / 'search.db'}"
        print(f"SQLite: loaded in {_seconds(load(url, rows))}")
        p99 = report("SQLite", *measure(url, queries, naive_sqlite, args.repeat))
        server = os.environ.get("MESHLAKE_TEST_POSTGRES_URL")
        if server and not args.no_postgres:
            postgres(server, rows, queries, args.repeat)
        else:
            print("\nPostgreSQL: skipped (set MESHLAKE_TEST_POSTGRES_URL to measure it)")
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    verdict = "PASS" if p99 <= TARGET_P99_MS else "FAIL"
    print(
        f"\n{verdict}: SQLite search() p99 {p99:.2f} ms (target <= {TARGET_P99_MS:.0f} ms);"
        f" {time.perf_counter() - began:.0f} s in all"
    )
    return 0


def _seconds(steps: dict[str, float]) -> str:
    parts = ", ".join(f"{step} {value:.1f} s" for step, value in steps.items())
    return f"{sum(steps.values()):.1f} s ({parts})"


def postgres(server: str, rows: list[dict[str, Any]], queries: list[Query], repeat: int) -> None:
    import psycopg

    name = f"meshlake_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        print(f"\nPostgreSQL: loaded in {_seconds(load(url, rows))}")
        report("PostgreSQL", *measure(url, queries, naive_postgresql, repeat))
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
