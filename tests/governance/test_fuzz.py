"""Schemathesis over real HTTP against the service's whole OpenAPI, on SQLite and PostgreSQL.

Every default check runs (no 500, documented statuses and bodies, schema-valid requests accepted,
schema-invalid ones refused, correct ``Allow`` on 405, ...), authenticated as the bootstrap admin.
The suite runs a sample (MESHLAKE_FUZZ_CASES cases per operation and mode, 5 by default);
``make fuzz`` runs 100 (about 4,000 cases per database).

A few rules cannot be said in JSON Schema; the service refuses their breach with a 422 naming the
rule. Only those 422s are let through the "schema-valid request accepted" check, each matched by
its message, on its own operation.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import BaseSchema, Case, GenerationMode, Response
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.failures import FailureGroup

from meshlake.governance import GovernanceSettings, create_app
from tests.governance.conftest import BOOTSTRAP, Service

pytestmark = pytest.mark.integration

CASES = int(os.environ.get("MESHLAKE_FUZZ_CASES", "5"))
AUTH = {"Authorization": f"Bearer {BOOTSTRAP}"}

_AGREEMENT_RULES = re.compile(
    r"^(consumer\.(id|domain): |ports(\[\d+\]\.\w+)?: |end: |sla(\[\d+\]\.property: | \(against ))"
)

# (operation, what the 422 says): rules the service checks that JSON Schema cannot state.
UNSTATABLE_RULES: list[tuple[str, re.Pattern[str]]] = [
    # Sharing agreements name what the catalog holds (products, domains, ports and their columns,
    # the contract's SLA an agreement may only tighten) and order their dates: state, not shape.
    *(
        (operation, _AGREEMENT_RULES)
        for operation in (
            "POST /api/v1/agreements",
            "POST /api/v1/agreements/{name}/counter-offer",
            "POST /api/v1/agreements/{name}/renew",
        )
    ),
    # One of two optional parameters, exactly (OpenAPI has no dependencies between parameters).
    ("GET /api/v1/lineage/graph", re.compile(r"^dataset, job: give exactly one of them$")),
    # A parameter that only applies beside others (column: with level=column and a dataset).
    ("GET /api/v1/lineage/graph", re.compile(r"^column: a column is a starting point")),
    # An opaque token the service issued.
    ("GET /api/v1/search", re.compile(r"^cursor: ")),
    # Unique by one key of the items (uniqueItems compares whole items).
    ("PUT /api/v1/products/{domain}/{product}", re.compile(r"declared more than once")),
    # A port's contract is checked against ODCS v3.1, whose schema the OpenAPI does not inline.
    ("PUT /api/v1/products/{domain}/{product}", re.compile(r"^ports\[\d+\]\.contract")),
    # References to what the catalog holds (state, not shape).
    ("PUT /api/v1/glossary/{name}", re.compile(r"^columns\[\d+\]: no column ")),
    # NUL in free-form JSON (contracts, facets, policy inputs: any JSON value in the schema). Every
    # string the schema types carries the no-NUL pattern; inside free-form values it cannot.
    ("*", re.compile(r": contains a NUL character \(U\+0000\)")),
    # A zone names policies of the service's policy folder (policy-as-code: state, not shape).
    ("PUT /api/v1/zones/{name}", re.compile(r"^policies\[\d+\]: no policy ")),
    # The input's schema depends on the decision (GET /api/v1/policies/{decision}/schema).
    ("POST /api/v1/policies/evaluate", re.compile(r"^input: .*\(\w+ input schema\)$")),
    # tokens, principals, webhooks
    # A grant's scope parameter depends on its role (OpenAPI has no dependencies between parameters).
    (
        "DELETE /api/v1/principals/{name}/grants",
        re.compile(
            r"^(domain: a \w+ grant (needs its domain|has no domain)"
            r"|domain: a zone_service grant is scoped by its zone"
            r"|zone: a zone_service grant needs its zone"
            r"|zone: only a zone_service grant has a zone, not \w+"
            r"|scope: give scope, or domain or zone, not both)$"
        ),
    ),
    # A token's expiry is bounded by the clock (in the future) and by the deployment's setting
    # MESHLAKE_TOKEN_MAX_DAYS, neither known to the OpenAPI.
    *[
        (
            operation,
            re.compile(
                r"^expires_(at|in_days): .*, the longest token lifetime \(MESHLAKE_TOKEN_MAX_DAYS\)"
                r"|^expires_at: \S+ is not in the future; give a time after "
            ),
        )
        for operation in (
            "POST /api/v1/principals",
            "POST /api/v1/tokens",
            "POST /api/v1/tokens/{token_id}/rotate",
        )
    ],
    # Governed SQL: whether a query is allowed, and a page cursor, are judged by the SQL checker
    # and against the catalog (state and meaning, not shape).
    ("POST /api/v1/query", re.compile(r"^(sql|page): ")),
    # A webhook's subscriber must be in the catalog (state, not shape).
    (
        "POST /api/v1/webhooks",
        re.compile(
            r"^subscriber: (domain \S.* is not in the catalog|principal \S.* does not exist)"
        ),
    ),
]


def _operations() -> list[str]:
    """The operations of the OpenAPI, read from the app without serving it."""
    app = create_app(GovernanceSettings(database_url="sqlite://", bootstrap_token=BOOTSTRAP))
    paths: dict[str, dict[str, object]] = app.openapi()["paths"]
    app.state.engine.dispose()
    return [f"{method.upper()} {path}" for path, item in paths.items() for method in item]


counted: Counter[str] = Counter()


@pytest.fixture(scope="module")
def api_schema(service: Service) -> Iterator[BaseSchema]:
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    # Every request carries the admin's token (AUTH): the declared bearer scheme is not a
    # parameter to fuzz (a "missing" token would count as invalid data that the service accepts).
    schema.config.generation.update(with_security_parameters=False)
    yield schema
    kind = service.database_url.split(":")[0]
    print(
        f"\nfuzz: {counted[service.database_url]} cases on {kind}, {CASES} per operation and mode"
    )


def _unstatable(operation: str, response: Response) -> bool:
    if response.status_code != 422:
        return False
    detail = str(response.json().get("detail", ""))
    return any(op in (operation, "*") and rule.search(detail) for op, rule in UNSTATABLE_RULES)


@pytest.mark.parametrize("operation", _operations())
def test_the_api_keeps_its_contract(
    api_schema: BaseSchema, service: Service, operation: str
) -> None:
    found = api_schema.find_operation_by_label(operation)
    assert found is not None, f"{operation} is not in the served OpenAPI"
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=found.as_strategy(generation_mode=mode))
        @settings(
            max_examples=CASES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def holds(case: Case) -> None:
            counted[service.database_url] += 1
            response = case.call(base_url=service.url, headers=AUTH)
            case.validate_response(
                response, excluded_checks=[positive_data_acceptance], headers=AUTH
            )
            try:
                case.validate_response(response, checks=[positive_data_acceptance], headers=AUTH)
            except FailureGroup:
                if not _unstatable(operation, response):
                    raise

        try:
            holds()
        except Unsatisfiable:
            # Every request this operation can get is valid (no body, string parameters only).
            if mode is GenerationMode.POSITIVE:
                raise
