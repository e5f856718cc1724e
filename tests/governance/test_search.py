"""Catalog search over real HTTP, on SQLite and on PostgreSQL, with the same assertions.

The sample mesh is registered once per module (``GovernanceClient.sync``, as ``meshlake run``
does); every test reads it through ``GET /api/v1/search``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update

from meshlake.governance.db._engine import make_engine
from meshlake.governance.db._tables import SearchDocument
from meshlake.governance.services._search import _index, _rank
from meshlake.platform import load_mesh
from meshlake.platform._governance import GovernanceClient
from tests.governance.conftest import BOOTSTRAP, Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

MESH = load_mesh(REPO)


@pytest.fixture(scope="module")
def synced(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        client.sync(MESH, tmp_path_factory.mktemp("state"))
    return service


def search(service: Service, **params: Any) -> dict[str, Any]:
    with service.client() as client:
        response = client.get("/api/v1/search", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def walk(service: Service, limit: int, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a search, following next_cursor."""
    cursor = None
    while True:
        page = search(service, limit=limit, **params, **({"cursor": cursor} if cursor else {}))
        yield page
        cursor = page["next_cursor"]
        if cursor is None:
            return


def refs(page: dict[str, Any]) -> list[str]:
    return [hit["ref"] for hit in page["hits"]]


def document_count() -> int:
    """Products, ports, columns and quarantine tables of the sample mesh: what the catalog
    indexes."""
    from meshlake.platform.quality._quarantine_table import quarantines

    count = 0
    for product in MESH.products.values():
        count += 1
        for port in product.ports.values():
            count += 1 + len(port.contract.columns) + (1 if quarantines(port) else 0)
    return count


# -- ranking ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "product"),
    [("employees", "hr.employees"), ("orders", "sales.orders"), ("customers", "sales.customers")],
)
def test_an_exact_name_comes_first(synced: Service, q: str, product: str) -> None:
    page = search(synced, q=q)

    port = f"{product}.{q}"
    assert set(refs(page)[:2]) == {product, port}
    assert [hit["match"] for hit in page["hits"][:2]] == ["exact_name", "exact_name"]
    # Everything after them merely mentions the word.
    assert {hit["match"] for hit in page["hits"][2:]} <= {"name_prefix", "text"}
    assert page["order"] == "relevance"
    assert page["total"] > 2


def test_exact_names_ignore_case_and_separators(synced: Service) -> None:
    assert set(refs(search(synced, q="EMPLOYEES"))[:2]) == {
        "hr.employees",
        "hr.employees.employees",
    }
    first = search(synced, q="pump health")["hits"][:2]
    assert {hit["ref"] for hit in first} == {
        "operations.pump_health",
        "operations.pump_health.pump_health",
    }
    assert {hit["match"] for hit in first} == {"exact_name"}


@pytest.mark.parametrize(
    ("q", "completions"),
    [
        ("emplo", {"hr.employees", "hr.employees.employees"}),
        ("cust", {"sales.customers", "sales.customers.customers"}),
    ],
)
def test_a_trailing_partial_word_is_a_prefix(
    synced: Service, q: str, completions: set[str]
) -> None:
    page = search(synced, q=q, limit=100)

    matches = [hit["match"] for hit in page["hits"]]
    prefixed = matches.count("name_prefix")
    assert prefixed >= 3
    assert matches == ["name_prefix"] * prefixed + ["text"] * (len(matches) - prefixed)
    # The closest completions (one word, like the query) lead the name prefixes.
    assert set(refs(page)[:2]) == completions
    assert all(hit["name"].lower().startswith(q) for hit in page["hits"][:prefixed])
    assert "<mark>" in page["hits"][0]["highlight"]


def test_a_word_followed_by_a_space_is_whole(synced: Service) -> None:
    assert search(synced, q="emplo ")["total"] == 0
    assert search(synced, q="employees ")["total"] == search(synced, q="employees")["total"]


def test_column_names_and_descriptions_are_searched(synced: Service) -> None:
    salary = search(synced, q="salary")
    assert refs(salary)[0] == "hr.employees.employees.annual_salary"
    assert salary["hits"][0]["kind"] == "column"
    assert "hr.employees.employees" in refs(salary)
    assert "<mark>salary</mark>" in salary["hits"][0]["highlight"]

    # A word only in a column's description finds the column and its dataset.
    dynamometer = search(synced, q="dynamometer")
    assert set(refs(dynamometer)) >= {
        "operations.pump_telemetry.pump_telemetry.pump_fillage_pct",
        "operations.pump_telemetry.pump_telemetry",
    }
    column = next(hit for hit in dynamometer["hits"] if hit["kind"] == "column")
    assert "<mark>dynamometer</mark>" in column["highlight"]


def test_every_word_must_match(synced: Service) -> None:
    both = set(refs(search(synced, q="annual salary", limit=100)))
    assert "hr.employees.employees.annual_salary" in both
    assert both <= set(refs(search(synced, q="salary", limit=100)))
    assert both <= set(refs(search(synced, q="annual", limit=100)))


def test_the_highlight_is_html_safe(synced: Service) -> None:
    hit = next(
        hit
        for hit in search(synced, q="employee_id account", limit=100)["hits"]
        if hit["ref"].endswith("account_manager_performance.employee_id")
    )
    # "Account manager's employee_id (hr.employees)." with its apostrophe escaped.
    assert hit["highlight"].startswith("<mark>Account</mark> manager&#x27;s <mark>employee</mark>")
    assert "<" not in hit["highlight"].replace("<mark>", "").replace("</mark>", "")


# -- filters and facets -------------------------------------------------------------------------


def test_filters_narrow_the_hits(synced: Service) -> None:
    columns = search(synced, q="salary", type="column")
    assert refs(columns) == ["hr.employees.employees.annual_salary"]

    sales = search(synced, q="customer", domain="sales", limit=100)
    assert sales["total"] > 0 and {hit["domain"] for hit in sales["hits"]} == {"sales"}
    assert search(synced, q="customer", domain="operations")["total"] == 0

    sensitive = search(synced, classification="sensitive", limit=100)
    assert {hit["classification"] for hit in sensitive["hits"]} == {"sensitive"}
    assert "hr.employees.employees.annual_salary" in refs(sensitive)

    pii = search(synced, tag="pii", type="dataset", limit=100)
    assert set(refs(pii)) == {"hr.employees.employees", "sales.customers.customers"}

    owned = search(synced, q="employees", owner="hr-data", limit=100)
    assert owned["total"] > 0 and {hit["owner"] for hit in owned["hits"]} == {"hr-data"}
    assert owned["total"] < search(synced, q="employees")["total"]

    combined = search(synced, q="name", domain="hr", type="column", classification="personal")
    assert refs(combined) == ["hr.employees.employees.full_name"]


def test_an_empty_filter_filters_nothing(synced: Service) -> None:
    everything = search(synced, q="salary")
    assert search(synced, q="salary", domain="", tag="", owner="")["total"] == everything["total"]


def test_facets_count_the_whole_match_set(synced: Service) -> None:
    first = search(synced, q="employees", limit=3)
    every = [hit for page in walk(synced, 100, q="employees") for hit in page["hits"]]

    def counted(values: list[str]) -> list[dict[str, Any]]:
        pairs = sorted(Counter(values).items(), key=lambda item: (-item[1], item[0]))
        return [{"value": value, "count": count} for value, count in pairs]

    facets = first["facets"]
    assert len(first["hits"]) == 3 and first["total"] == len(every) > 3
    assert (first["total_exact"], first["facets_exact"]) == (True, True)
    assert facets["kind"] == counted([hit["kind"] for hit in every])
    assert facets["domain"] == counted([hit["domain"] for hit in every])
    assert facets["classification"] == counted([hit["classification"] for hit in every])
    assert facets["owner"] == counted([hit["owner"] for hit in every])
    assert facets["tag"] == counted([tag for hit in every for tag in hit["tags"]])
    assert {"value": "hr", "count": sum(hit["domain"] == "hr" for hit in every)} in facets["domain"]


def test_facets_follow_the_filters(synced: Service) -> None:
    page = search(synced, q="customer", type="column")
    assert page["facets"]["kind"] == [{"value": "column", "count": page["total"]}]


# -- pagination ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"q": "cust"}, {"q": "employees"}, {"q": "date"}, {"q": "", "domain": "hr"}],
    ids=["prefix", "word", "common", "browse"],
)
def test_the_cursor_walks_every_hit_once_in_order(synced: Service, params: dict[str, str]) -> None:
    whole = search(synced, limit=100, **params)
    assert whole["next_cursor"] is None and whole["total"] == len(whole["hits"]) > 7

    walked = [ref for page in walk(synced, 7, **params) for ref in refs(page)]

    assert walked == refs(whole)


def test_the_cursor_walks_the_whole_catalog(synced: Service) -> None:
    walked = [ref for page in walk(synced, 40) for ref in refs(page)]
    assert len(walked) == len(set(walked)) == document_count()
    assert walked == sorted(walked)  # no words: by ref


def test_a_cursor_belongs_to_its_query(synced: Service) -> None:
    cursor = search(synced, q="cust", limit=5)["next_cursor"]
    with synced.client() as client:
        other = client.get("/api/v1/search", params={"q": "employees", "cursor": cursor})
        filtered = client.get(
            "/api/v1/search", params={"q": "cust", "type": "column", "cursor": cursor}
        )
        garbage = client.get("/api/v1/search", params={"q": "cust", "cursor": "not-a-cursor"})
    assert other.status_code == filtered.status_code == garbage.status_code == 422
    assert "another query" in other.json()["detail"]
    assert "not a cursor" in garbage.json()["detail"]


# -- the bounded path (match sets over the cap) -------------------------------------------------


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service runs in this process: a cap of 10 puts the sample mesh over it."""
    monkeypatch.setattr(_rank, "CANDIDATE_CAP", 10)
    monkeypatch.setattr(_rank, "FACET_SAMPLE", 10)


@pytest.mark.usefixtures("small_cap")
def test_over_the_cap_names_first_then_newest(synced: Service) -> None:
    page = search(synced, q="cust", limit=100)

    assert (page["order"], page["facets_exact"], page["total_exact"]) == ("recency", False, True)
    matches = [hit["match"] for hit in page["hits"]]
    prefixed = matches.count("name_prefix")
    assert prefixed >= 3
    assert matches[:prefixed] == ["name_prefix"] * prefixed
    assert set(refs(page)[:2]) == {"sales.customers", "sales.customers.customers"}
    assert all(hit["score"] is None for hit in page["hits"])
    assert sum(facet["count"] for facet in page["facets"]["kind"]) == 10  # the newest 10


@pytest.mark.usefixtures("small_cap")
def test_over_the_cap_the_same_hits_and_a_clean_walk(synced: Service) -> None:
    capped = search(synced, q="cust", limit=100)
    walked = [ref for page in walk(synced, 4, q="cust") for ref in refs(page)]

    assert walked == refs(capped)
    assert len(set(walked)) == len(walked) == capped["total"]


def test_a_cursor_from_before_the_cap_was_crossed_is_a_conflict(
    synced: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    cursor = search(synced, q="cust", limit=5)["next_cursor"]
    monkeypatch.setattr(_rank, "CANDIDATE_CAP", 10)
    with synced.client() as client:
        response = client.get("/api/v1/search", params={"q": "cust", "cursor": cursor})
    assert response.status_code == 409
    assert "search again without the cursor" in response.json()["detail"]


def test_the_bounded_path_finds_what_the_ranked_one_does(
    synced: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranked = set(refs(search(synced, q="customer", limit=100)))
    monkeypatch.setattr(_rank, "CANDIDATE_CAP", 10)
    monkeypatch.setattr(_index, "FREQUENT_TERM", 3)
    assert set(refs(search(synced, q="customer", limit=100))) == ranked


# -- hostile input ------------------------------------------------------------------------------

# (query, expectation): "all" lists every document (no words), "none" finds nothing, any other
# string is the query it must behave exactly like (its words).
HOSTILE: list[tuple[str, str]] = [
    ('"', "all"),
    ("'", "all"),
    ("*", "all"),
    ("", "all"),
    ("%_\\", "all"),
    ("(((", "all"),
    ("employees*", "employees"),
    ('"employees', "employees"),
    ("-employees", "employees"),
    ("NEAR(", "near"),
    ("NEAR(employees salary, 2)", "near employees salary 2"),
    ("employees OR salary", "employees or salary"),
    ("employees NOT salary", "employees not salary"),
    ("name:employees", "name employees"),
    ("{name}: employees", "name employees"),
    ("'; DROP TABLE search_documents; --", "drop table search documents"),
    ('") OR 1=1 --', "or 1 1"),
    ("emp\x00loyees", "emp loyees"),
    ("x" * 5000, "none"),
    ("employees " * 400, "employees "),
]


@pytest.mark.parametrize(("q", "expected"), HOSTILE, ids=[f"q{i}" for i in range(len(HOSTILE))])
def test_hostile_queries_are_just_words(synced: Service, q: str, expected: str) -> None:
    page = search(synced, q=q, limit=100)

    if expected == "all":
        assert page["total"] == document_count()
        assert {hit["match"] for hit in page["hits"]} == {"browse"}
    elif expected == "none":
        assert page["total"] == 0 and page["hits"] == []
    else:
        same = search(synced, q=expected, limit=100)
        assert (refs(page), page["total"]) == (refs(same), same["total"])


def test_hostile_input_leaves_the_catalog_intact(synced: Service) -> None:
    for q, _ in HOSTILE:
        search(synced, q=q)
    with synced.client() as client:
        assert client.get("/api/v1/products").status_code == 200
    assert search(synced)["total"] == document_count()
    assert refs(search(synced, q="employees"))[0] in {"hr.employees", "hr.employees.employees"}


def test_hostile_filters_match_nothing(synced: Service) -> None:
    for value in ["' OR '1'='1", "\x00", "%", "*", 'k" OR "1', "sales' --"]:
        for name in ("domain", "tag", "classification", "owner"):
            assert search(synced, **{name: value})["total"] == 0, (name, value)


# -- the index follows the catalog ---------------------------------------------------------------


def test_registering_again_leaves_one_document_per_ref(
    synced: Service, tmp_path_factory: pytest.TempPathFactory
) -> None:
    before = [ref for page in walk(synced, 100, q="employees") for ref in refs(page)]
    with GovernanceClient(synced.url, BOOTSTRAP) as client:
        client.sync(MESH, tmp_path_factory.mktemp("again"))
    after = [ref for page in walk(synced, 100, q="employees") for ref in refs(page)]
    assert sorted(after) == sorted(before) and len(set(after)) == len(after)
    assert search(synced)["total"] == document_count()


def test_the_index_follows_updates_and_deletes(synced: Service, tmp_path: Path) -> None:
    """Rows changed behind the service's back (the triggers / the generated column)."""
    engine = make_engine(synced.database_url)
    ref = "operations.pump_health.pump_health.spm_mean"
    try:
        with engine.begin() as connection:
            connection.execute(
                update(SearchDocument)
                .where(SearchDocument.ref == ref)
                .values(description="Quokka sightings.", domain="zoology")
            )
        assert refs(search(synced, q="quokka")) == [ref]
        assert refs(search(synced, q="quokka", domain="zoology")) == [ref]
        assert search(synced, q="quokka", domain="operations")["total"] == 0
        assert ref not in refs(search(synced, q="strokes running", limit=100))

        with engine.begin() as connection:
            connection.execute(delete(SearchDocument).where(SearchDocument.ref == ref))
        assert search(synced, q="quokka")["total"] == 0
    finally:
        engine.dispose()
        with GovernanceClient(synced.url, BOOTSTRAP) as client:  # put the document back
            client.register(MESH.product("operations.pump_health"), tmp_path)
    assert refs(search(synced, q="spm mean"))[0] == ref


# -- the HTTP contract --------------------------------------------------------------------------


def test_search_needs_a_token(synced: Service) -> None:
    with synced.client(token=None) as anonymous, synced.client(token="mlk_wrong") as wrong:
        assert anonymous.get("/api/v1/search", params={"q": "employees"}).status_code == 401
        assert wrong.get("/api/v1/search", params={"q": "employees"}).status_code == 401


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"type": "table"}], ids=["0", "101", "type"]
)
def test_invalid_parameters_are_422(synced: Service, params: dict[str, Any]) -> None:
    with synced.client() as client:
        response = client.get("/api/v1/search", params={"q": "employees", **params})
    assert response.status_code == 422


def test_the_response_is_documented(synced: Service) -> None:
    with synced.client() as client:
        schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/search"]["get"]
    assert operation["summary"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {
        "q",
        "type",
        "domain",
        "tag",
        "classification",
        "owner",
        "limit",
        "cursor",
    }
    page = schema["components"]["schemas"]["SearchPageOut"]
    assert set(page["properties"]) == {
        "hits",
        "total",
        "total_exact",
        "facets",
        "facets_exact",
        "order",
        "next_cursor",
    }
    assert (
        "<mark>"
        in schema["components"]["schemas"]["SearchHitOut"]["properties"]["highlight"]["description"]
    )
